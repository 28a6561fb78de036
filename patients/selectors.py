"""The reads behind the patient endpoints and pages, each with the joins it needs."""

from django.db.models import Count, Q, QuerySet

from .models import EdssAssessment, Infection, Medication, Patient, Relapse, TreatmentDecision


def patient_list() -> QuerySet[Patient]:
    """Patients with `infusion_count`: the infusions they were actually given."""
    return Patient.objects.annotate(
        infusion_count=Count("infusions", filter=Q(infusions__started_at__isnull=False))
    )


def patient_get(patient_id: object) -> Patient:
    return patient_list().get(pk=patient_id)


def medication_list() -> QuerySet[Medication]:
    return Medication.objects.all()


def infection_list() -> QuerySet[Infection]:
    return Infection.objects.all()


def edss_list() -> QuerySet[EdssAssessment]:
    return EdssAssessment.objects.all()


def relapse_list() -> QuerySet[Relapse]:
    return Relapse.objects.all()


def decision_list(patient: Patient) -> QuerySet[TreatmentDecision]:
    return TreatmentDecision.objects.filter(patient=patient).select_related("decided_by")
