"""The laboratory interface's pages (neurologist)."""

from django.urls import path

from . import views

app_name = "interop"

urlpatterns = [
    path("lab-inbox/", views.inbox, name="inbox"),
    path("lab-inbox/<uuid:entry_id>/", views.inbox_entry, name="inbox_entry"),
    path("lab-inbox/<uuid:entry_id>/file/", views.inbox_file, name="inbox_file"),
    path("lab-inbox/<uuid:entry_id>/reject/", views.inbox_reject, name="inbox_reject"),
]
