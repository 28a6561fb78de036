from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

from natalizumab_monitor.roles import sync_role_groups


def create_interface_role(apps, schema_editor):
    # Permissions are normally made after migrate; make them now so the groups can hold them.
    create_permissions(global_apps.get_app_config("interop"), verbosity=0)
    sync_role_groups(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"))


def remove_interface_role(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="interface").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("interop", "0001_initial"),
        ("alerts", "0002_roles"),
    ]

    operations = [migrations.RunPython(create_interface_role, remove_interface_role)]
