"""The neurologist's pages."""

from django.urls import path

from . import views

app_name = "patients"

urlpatterns = [
    path("worklist/", views.worklist, name="worklist"),
    path("patients/<uuid:patient_id>/", views.detail, name="detail"),
    path("patients/<uuid:patient_id>/decisions/", views.decide, name="decide"),
    path("patients/<uuid:patient_id>/edss/new/", views.edss_new, name="edss_new"),
    path("patients/<uuid:patient_id>/relapses/new/", views.relapse_new, name="relapse_new"),
    path(
        "patients/<uuid:patient_id>/medications/new/", views.medication_new, name="medication_new"
    ),
    path("patients/<uuid:patient_id>/infections/new/", views.infection_new, name="infection_new"),
    path(
        "patients/<uuid:patient_id>/infections/<uuid:infection_id>/resolved/",
        views.infection_resolved,
        name="infection_resolved",
    ),
    path(
        "patients/<uuid:patient_id>/infusions/<uuid:infusion_id>/clear-checklist/",
        views.clear_checklist,
        name="clear_checklist",
    ),
]
