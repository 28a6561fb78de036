from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

from natalizumab_monitor.roles import sync_role_groups


def create_roles(apps, schema_editor):
    # Permissions are normally made after migrate; make them now so the groups can hold them.
    for app_label in ("patients", "labs", "infusions", "alerts"):
        create_permissions(global_apps.get_app_config(app_label), verbosity=0)
    sync_role_groups(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"))


def remove_roles(apps, schema_editor):
    from natalizumab_monitor.roles import ROLES

    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0001_initial"),
        ("patients", "0001_initial"),
        ("labs", "0001_initial"),
        ("infusions", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
