"""FHIR R4 endpoints: the record out (metadata, Patient, $everything, Observation search)
and results in (a batch or transaction Bundle). JSON only, errors as OperationOutcome."""

import json
import uuid
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from fhir.resources.R4B.resource import Resource
from rest_framework import exceptions
from rest_framework.permissions import BasePermission
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.models import AuditAction
from audit.services import record as audit_record
from natalizumab_monitor.rest import StrictJSONParser
from patients.models import Patient

from . import bundle_in, resources

FHIR_JSON = "application/fhir+json"


class FhirJsonRenderer(BaseRenderer):
    media_type = FHIR_JSON
    format = "fhir"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None
    ) -> bytes:
        if isinstance(data, Resource):
            return data.model_dump_json(exclude_none=True).encode()
        return json.dumps(data).encode()


class FhirJsonParser(StrictJSONParser):
    media_type = FHIR_JSON


class FhirPermission(BasePermission):
    """Reading the record: the clinical roles; sending results: the laboratory interface."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if request.method == "POST":
            return user.has_perm("interop.add_inboundmessage")
        return user.has_perms(("patients.view_patient", "labs.view_labresult"))


_ISSUE = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported"}


@extend_schema(exclude=True)  # described by its CapabilityStatement, not the REST API's schema
class FhirView(APIView):
    renderer_classes = [FhirJsonRenderer]
    parser_classes = [FhirJsonParser, StrictJSONParser]
    permission_classes = [FhirPermission]

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        text = exc.detail if isinstance(exc, exceptions.APIException) else "Refused."
        issue = _ISSUE.get(response.status_code, "processing")
        response.data = resources.operation_outcome("error", issue, str(text))
        return response

    def base_url(self, request: Request) -> str:
        return request.build_absolute_uri("/fhir/")

    def fhir(self, body: Resource, status: int = 200) -> Response:
        return Response(body, status=status, content_type=f"{FHIR_JSON}; charset=utf-8")


def _patient(patient_id: str, queryset: QuerySet[Patient] | None = None) -> Patient:
    try:
        key = uuid.UUID(patient_id)
    except ValueError:
        raise exceptions.NotFound(f"No Patient {patient_id}.") from None
    found = (Patient.objects.all() if queryset is None else queryset).filter(pk=key).first()
    if found is None:
        raise exceptions.NotFound(f"No Patient {patient_id}.")
    return found


def _exported(patient: Patient, what: str) -> None:
    audit_record(action=AuditAction.EXPORT, record_type=f"fhir.{what}", patients=[str(patient.pk)])


class MetadataView(FhirView):
    permission_classes = []  # the CapabilityStatement is public, as FHIR servers make it

    def get(self, request: Request) -> Response:
        return self.fhir(resources.capability_statement(self.base_url(request)))


class PatientView(FhirView):
    def get(self, request: Request, patient_id: str) -> Response:
        patient = _patient(patient_id)
        _exported(patient, "Patient")
        return self.fhir(resources.patient(patient))


class EverythingView(FhirView):
    def get(self, request: Request, patient_id: str) -> Response:
        queryset = Patient.objects.prefetch_related(*resources.record_prefetches())
        patient = _patient(patient_id, queryset)
        _exported(patient, "Bundle")
        return self.fhir(resources.searchset(resources.everything(patient), self.base_url(request)))


class ObservationSearchView(FhirView):
    def get(self, request: Request) -> Response:
        reference = request.query_params.get("patient", "")
        if not reference:
            raise exceptions.ValidationError("Search Observations by patient: ?patient={id}.")
        queryset = Patient.objects.prefetch_related(*resources.record_prefetches())
        patient = _patient(reference.removeprefix("Patient/"), queryset)
        _exported(patient, "Observation")
        found = resources.observations(patient)
        return self.fhir(resources.searchset(found, self.base_url(request)))


class BundleView(FhirView):
    def post(self, request: Request) -> Response:
        answer = bundle_in.receive_bundle(request.data, sender=request.user)
        return self.fhir(answer.body, status=answer.status)
