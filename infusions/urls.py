"""The nurse's and the pharmacist's pages."""

from django.urls import path

from . import views

app_name = "infusions"

urlpatterns = [
    path("nurse/today/", views.today, name="today"),
    path("nurse/patients/<uuid:patient_id>/checklist/", views.checklist, name="checklist"),
    path("nurse/infusions/<uuid:infusion_id>/", views.infusion, name="infusion"),
    path("nurse/infusions/<uuid:infusion_id>/start/", views.start, name="start"),
    path("nurse/infusions/<uuid:infusion_id>/stop/", views.stop, name="stop"),
    path("nurse/infusions/<uuid:infusion_id>/discharge/", views.discharge, name="discharge"),
    path("nurse/infusions/<uuid:infusion_id>/cancel/", views.cancel, name="cancel"),
    path("nurse/infusions/<uuid:infusion_id>/reactions/", views.reaction, name="reaction"),
    path("pharmacy/bags/", views.bags, name="bags"),
    path("pharmacy/bags/new/", views.prepare, name="prepare"),
    path("pharmacy/bags/<uuid:bag_id>/used/", views.bag_used, name="bag_used"),
    path("pharmacy/bags/<uuid:bag_id>/discard/", views.bag_discard, name="bag_discard"),
]
