"""Every path of REST API v1 (API.md)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from alerts.api import AlertViewSet
from audit.api import AccessReportViewSet, AuditViewSet
from infusions.api import InfusionViewSet, PreparationViewSet
from interop.api import Hl7ViewSet, LabInboxViewSet
from labs.api import AntibodyTestViewSet, LabResultViewSet, MriStudyViewSet
from natalizumab_monitor.tokens import LogoutView
from network.api import SiteViewSet
from patients.api import (
    EdssViewSet,
    InfectionViewSet,
    MedicationViewSet,
    PatientDecisionViewSet,
    PatientViewSet,
    RelapseViewSet,
)

router = SimpleRouter()
router.register("patients", PatientViewSet, basename="patient")
router.register(r"patients/(?P<id>[^/.]+)/decisions", PatientDecisionViewSet, basename="decision")
router.register("medications", MedicationViewSet, basename="medication")
router.register("infections", InfectionViewSet, basename="infection")
router.register("lab-results", LabResultViewSet, basename="lab-result")
router.register("antibody-tests", AntibodyTestViewSet, basename="antibody-test")
router.register("mri-studies", MriStudyViewSet, basename="mri-study")
router.register("edss", EdssViewSet, basename="edss")
router.register("relapses", RelapseViewSet, basename="relapse")
router.register("preparations", PreparationViewSet, basename="preparation")
router.register("infusions", InfusionViewSet, basename="infusion")
router.register("alerts", AlertViewSet, basename="alert")
router.register("audit", AuditViewSet, basename="audit")
router.register(
    r"patients/(?P<id>[^/.]+)/access-report", AccessReportViewSet, basename="access-report"
)
router.register("hl7", Hl7ViewSet, basename="hl7")
router.register("lab-inbox", LabInboxViewSet, basename="lab-inbox")
router.register("sites", SiteViewSet, basename="site")

urlpatterns = [
    path("auth/logout/", LogoutView.as_view(), name="api-logout"),
    *router.urls,
]
