"""The laboratory interface's pages (neurologist)."""

from django.urls import path

from . import views

app_name = "interop"

urlpatterns = [
    path("lab-inbox/", views.inbox, name="inbox"),
    path("lab-inbox/<uuid:entry_id>/", views.inbox_entry, name="inbox_entry"),
    path("lab-inbox/<uuid:entry_id>/file/", views.inbox_file, name="inbox_file"),
    path("lab-inbox/<uuid:entry_id>/reject/", views.inbox_reject, name="inbox_reject"),
    path("lab-imports/new/", views.csv_upload, name="csv_upload"),
    path("lab-imports/<uuid:import_id>/", views.csv_import_page, name="csv_import"),
    path("lab-imports/<uuid:import_id>/start/", views.csv_import_start, name="csv_import_start"),
    path(
        "lab-imports/<uuid:import_id>/progress/",
        views.csv_import_progress,
        name="csv_import_progress",
    ),
]
