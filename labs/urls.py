"""Recording lab results, antibody tests and MRI studies (neurologist)."""

from django.urls import path

from . import views

app_name = "labs"

urlpatterns = [
    path("patients/<uuid:patient_id>/labs/new/", views.lab_result_new, name="lab_result_new"),
    path(
        "patients/<uuid:patient_id>/antibody-tests/new/",
        views.antibody_test_new,
        name="antibody_test_new",
    ),
    path("patients/<uuid:patient_id>/mri/new/", views.mri_study_new, name="mri_study_new"),
]
