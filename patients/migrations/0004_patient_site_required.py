"""Every patient has a site (apart from 0003: PostgreSQL alters no table with pending
deferred checks from the rows 0003 placed)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("patients", "0003_patient_site")]

    operations = [
        migrations.AlterField(
            model_name="patient",
            name="site",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="patients",
                to="network.site",
            ),
        ),
    ]
