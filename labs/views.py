"""The neurologist's pages that record lab results, antibody tests and MRI studies."""

from uuid import UUID

from django.http import HttpRequest, HttpResponse

from natalizumab_monitor.access import role_required
from natalizumab_monitor.record_pages import record_page
from natalizumab_monitor.roles import NEUROLOGIST

from .forms import AntibodyTestForm, LabResultForm, MriStudyForm


@role_required(NEUROLOGIST)
def lab_result_new(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    return record_page(request, patient_id, LabResultForm)


@role_required(NEUROLOGIST)
def antibody_test_new(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    return record_page(request, patient_id, AntibodyTestForm)


@role_required(NEUROLOGIST)
def mri_study_new(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    return record_page(request, patient_id, MriStudyForm)
