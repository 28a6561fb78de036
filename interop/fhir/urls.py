"""FHIR R4 paths (API.md, "FHIR R4 out" and "Laboratory interface")."""

from django.urls import path

from . import views

urlpatterns = [
    path("fhir/", views.BundleView.as_view(), name="fhir-bundle"),
    path("fhir/metadata", views.MetadataView.as_view(), name="fhir-metadata"),
    path("fhir/Patient/<str:patient_id>", views.PatientView.as_view(), name="fhir-patient"),
    path(
        "fhir/Patient/<str:patient_id>/$everything",
        views.EverythingView.as_view(),
        name="fhir-everything",
    ),
    path("fhir/Observation", views.ObservationSearchView.as_view(), name="fhir-observations"),
]
