"""The privacy officer's pages."""

from django.urls import path

from . import views

app_name = "audit"

urlpatterns = [
    path("audit/", views.search, name="search"),
    path("audit/entries/<int:entry_id>/", views.entry, name="entry"),
    path("audit/export.csv", views.export_csv, name="export"),
    path("audit/patients/<uuid:patient_id>/", views.access_report, name="access_report"),
]
