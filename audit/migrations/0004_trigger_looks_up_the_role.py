"""PostgreSQL: the row trigger looks up the acting user's role itself when the application
sends the role names instead (one query fewer per request)."""

from django.db import migrations

RECORD_CHANGE = r"""
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
    role_name text := context ->> 'role';
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
    IF role_name IS NULL AND context ->> 'user_id' IS NOT NULL THEN
        -- The application sent the role names rather than a query of its own.
        SELECT g.name INTO role_name
          FROM auth_user_groups ug JOIN auth_group g ON g.id = ug.group_id
         WHERE ug.user_id = (context ->> 'user_id')::bigint
           AND g.name IN (SELECT jsonb_array_elements_text(context -> 'roles'))
         ORDER BY g.name
         LIMIT 1;
    END IF;
    INSERT INTO audit_auditentry (
        at, user_id, username, role, action, record_type, record_id, patients, changes, via,
        request_id, remote_addr
    ) VALUES (
        clock_timestamp(),
        (context ->> 'user_id')::bigint,
        coalesce(context ->> 'username', ''),
        coalesce(role_name, ''),
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


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(RECORD_CHANGE, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_auditor_role")]

    # Backwards keeps this version: the role it reads from the context is still honoured.
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
