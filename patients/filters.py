"""Query filters of the patient endpoints."""

import django_filters

from .models import EdssAssessment, Infection, Medication, Patient, Relapse, TreatmentStatus


class PatientFilter(django_filters.FilterSet):
    mrn = django_filters.CharFilter(help_text="The patient with this MRN.")
    treatment_status = django_filters.ChoiceFilter(choices=TreatmentStatus.choices)
    site = django_filters.NumberFilter(field_name="site_id", help_text="Only this site's patients.")

    class Meta:
        model = Patient
        fields = ["mrn", "treatment_status", "site"]


class PatientRecordFilter(django_filters.FilterSet):
    """Every clinical record can be listed for one patient."""

    patient = django_filters.UUIDFilter(field_name="patient_id", help_text="A patient's id.")


class MedicationFilter(PatientRecordFilter):
    class Meta:
        model = Medication
        fields = ["patient", "category"]


class InfectionFilter(PatientRecordFilter):
    active = django_filters.BooleanFilter(
        field_name="resolved_on", lookup_expr="isnull", help_text="Only infections not resolved."
    )

    class Meta:
        model = Infection
        fields = ["patient", "active"]


class EdssFilter(PatientRecordFilter):
    class Meta:
        model = EdssAssessment
        fields = ["patient"]


class RelapseFilter(PatientRecordFilter):
    class Meta:
        model = Relapse
        fields = ["patient"]
