"""PostgreSQL: the row trigger function, the append-only guard, the patient index.

The row triggers themselves go on the tables of audit/registry.py (installed here for the
tables that exist, and refreshed after every migrate by audit.signals).
"""

from django.db import migrations

RECORD_CHANGE = r"""
CREATE OR REPLACE FUNCTION audit_patient_of(row_values jsonb, patient_column text, via_table text)
RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
    patient text;
BEGIN
    IF row_values IS NULL OR patient_column = '' THEN
        RETURN NULL;
    END IF;
    patient := row_values ->> patient_column;
    IF via_table <> '' AND patient IS NOT NULL THEN
        EXECUTE format('SELECT patient_id::text FROM %I WHERE id = $1', via_table)
            INTO patient USING patient::uuid;
    END IF;
    RETURN patient;
END;
$$;

CREATE OR REPLACE FUNCTION audit_record_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    -- Arguments: record type, patient column, table that column points into (if indirect),
    -- masked columns, ignored columns, the column naming the record.
    context jsonb := coalesce(nullif(current_setting('audit.context', true), '')::jsonb, '{}');
    masked text[] := string_to_array(TG_ARGV[3], ',');
    ignored text[] := string_to_array(TG_ARGV[4], ',');
    before jsonb;
    after jsonb;
    changes jsonb;
    action text;
    patients jsonb := '[]';
    patient text;
    column_name text;
BEGIN
    IF context ->> 'enabled' = 'false' THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        before := to_jsonb(OLD) - ignored;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        after := to_jsonb(NEW) - ignored;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        action := 'update';
        SELECT coalesce(jsonb_object_agg(n.key, jsonb_build_array(o.value, n.value)), '{}')
          INTO changes
          FROM jsonb_each(after) AS n JOIN jsonb_each(before) AS o USING (key)
         WHERE n.value IS DISTINCT FROM o.value;
        IF changes = '{}' THEN
            RETURN NULL;  -- nothing but ignored columns changed
        END IF;
        FOREACH column_name IN ARRAY masked LOOP
            IF changes ? column_name THEN
                changes := jsonb_set(changes, ARRAY[column_name], '["(hidden)", "(changed)"]');
            END IF;
        END LOOP;
    ELSE
        action := CASE TG_OP WHEN 'INSERT' THEN 'create' ELSE 'delete' END;
        changes := coalesce(after, before);
        FOREACH column_name IN ARRAY masked LOOP
            IF changes ? column_name THEN
                changes := jsonb_set(changes, ARRAY[column_name], '"(hidden)"');
            END IF;
        END LOOP;
    END IF;
    FOREACH patient IN ARRAY ARRAY[
        audit_patient_of(before, TG_ARGV[1], TG_ARGV[2]),
        audit_patient_of(after, TG_ARGV[1], TG_ARGV[2])
    ] LOOP
        IF patient IS NOT NULL AND NOT patients ? patient THEN
            patients := patients || to_jsonb(patient);
        END IF;
    END LOOP;
    INSERT INTO audit_auditentry (
        at, user_id, username, role, action, record_type, record_id, patients, changes, via,
        request_id, remote_addr
    ) VALUES (
        clock_timestamp(),
        (context ->> 'user_id')::bigint,
        coalesce(context ->> 'username', ''),
        coalesce(context ->> 'role', ''),
        action,
        TG_ARGV[0],
        coalesce(coalesce(after, before) ->> TG_ARGV[5], ''),
        patients,
        changes,
        coalesce(context ->> 'via', 'system'),
        coalesce(context ->> 'request_id', ''),
        coalesce(context ->> 'remote_addr', '')
    );
    RETURN NULL;
END;
$$;
"""

APPEND_ONLY = r"""
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- The one way out: the retention command archives, then deletes in a transaction that
    -- set audit.purge (audit.services.archive_and_purge).
    IF TG_OP = 'DELETE' AND current_setting('audit.purge', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit entries cannot be changed or deleted'
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit_auditentry
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();

CREATE INDEX audit_patients_gin ON audit_auditentry USING gin (patients jsonb_path_ops);
"""

DROP = r"""
DROP INDEX IF EXISTS audit_patients_gin;
DROP TRIGGER IF EXISTS audit_append_only ON audit_auditentry;
DROP FUNCTION IF EXISTS audit_refuse_change();
DROP FUNCTION IF EXISTS audit_record_change() CASCADE;
DROP FUNCTION IF EXISTS audit_patient_of(jsonb, text, text);
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(RECORD_CHANGE, params=None)
    schema_editor.execute(APPEND_ONLY, params=None)
    from audit.triggers import install_row_triggers

    install_row_triggers(schema_editor.connection)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
        ("patients", "0001_initial"),
        ("labs", "0001_initial"),
        ("infusions", "0001_initial"),
        ("alerts", "0001_initial"),
        ("knox", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
