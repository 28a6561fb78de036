"""Every patient belongs to a site: an installation's patients join its one site."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def place_patients(apps, schema_editor):
    Patient = apps.get_model("patients", "Patient")
    Site = apps.get_model("network", "Site")
    if not Patient.objects.filter(site__isnull=True).exists():
        return
    site = Site.objects.order_by("pk").first() or Site.objects.create(
        code="MAIN", name=settings.CLINIC_NAME, time_zone=settings.CLINIC_TIME_ZONE
    )
    Patient.objects.filter(site__isnull=True).update(site=site)


class Migration(migrations.Migration):
    dependencies = [
        ("network", "0001_initial"),
        ("patients", "0002_nurse_list_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="patient",
            name="site",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="patients",
                to="network.site",
            ),
        ),
        migrations.RunPython(place_patients, migrations.RunPython.noop),
    ]
