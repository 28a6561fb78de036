"""The OpenAPI schema at /api/v1/schema/ describes every path of API.md, its fields, enums
and error responses; the docs page is for logged-in users."""

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

# API.md's table, less the rules engine's findings and clearance (not built here).
CONTRACT = {
    "/api/v1/patients/": {"get", "post"},
    "/api/v1/patients/{id}/": {"get", "patch"},
    "/api/v1/patients/{id}/decisions/": {"get", "post"},
    "/api/v1/medications/": {"get", "post"},
    "/api/v1/infections/": {"get", "post"},
    "/api/v1/infections/{id}/": {"patch"},
    "/api/v1/lab-results/": {"get", "post"},
    "/api/v1/antibody-tests/": {"get", "post"},
    "/api/v1/mri-studies/": {"get", "post"},
    "/api/v1/edss/": {"get", "post"},
    "/api/v1/relapses/": {"get", "post"},
    "/api/v1/preparations/": {"get", "post"},
    "/api/v1/infusions/": {"get", "post"},
    "/api/v1/infusions/{id}/start/": {"post"},
    "/api/v1/infusions/{id}/stop/": {"post"},
    "/api/v1/infusions/{id}/discharge/": {"post"},
    "/api/v1/infusions/{id}/reactions/": {"post"},
    "/api/v1/alerts/": {"get"},
    "/api/v1/alerts/{id}/acknowledge/": {"post"},
    "/api/v1/alerts/{id}/resolve/": {"post"},
}
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def schema(api_as: Callable[[str], APIClient]) -> dict[str, Any]:
    response = api_as("api-client").get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def component(schema: dict[str, Any], ref: str) -> dict[str, Any]:
    return schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]


def request_properties(schema: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    body = schema["paths"][path][method]["requestBody"]["content"]["application/json"]
    return component(schema, body["schema"]["$ref"])["properties"]


def test_every_path_of_the_contract_is_described(schema: dict[str, Any]) -> None:
    for path, methods in CONTRACT.items():
        assert path in schema["paths"], path
        assert methods <= set(schema["paths"][path]), path


# API.md: an HL7 v2 message comes as ER7 text (or JSON) and is answered by its ER7 ACK.
ER7 = "x-application/hl7-v2+er7"
ER7_POSTS = {"/api/v1/hl7/"}


def test_every_operation_names_its_errors(schema: dict[str, Any]) -> None:
    for path, method, operation in operations(schema):
        codes = set(operation["responses"])
        er7 = method == "post" and path in ER7_POSTS
        assert {"401", "403"} <= codes, (method, path)
        if "{id}" in path:
            assert "404" in codes, (method, path)
        if "requestBody" in operation:
            assert {"400", "415"} <= codes, (method, path)
            media = {"application/json", ER7, "text/plain"} if er7 else {"application/json"}
            assert operation["requestBody"]["content"].keys() == media
        if any(p["name"] == "If-Match" for p in operation.get("parameters", [])):
            assert {"409", "412"} <= codes, (method, path)
        for code, response in operation["responses"].items():
            media = ER7 if er7 and code == "200" else "application/json"
            assert media in response["content"], (method, path, code)


def test_a_gate_refusal_is_described_with_its_blocking_findings(schema: dict[str, Any]) -> None:
    response = schema["paths"]["/api/v1/infusions/{id}/start/"]["post"]["responses"]["409"]
    conflict = component(schema, response["content"]["application/json"]["schema"]["$ref"])
    assert {"detail", "blocking"} <= set(conflict["properties"])
    finding = component(schema, conflict["properties"]["blocking"]["items"]["$ref"])
    # API.md's finding, plus the version of the rule profile that raised it.
    assert set(finding["properties"]) == {
        "profile_version",
        "rule",
        "severity",
        "action",
        "message",
        "evidence",
        "source",
        "profile",
        "dedup_key",
    }
    errors = schema["components"]["schemas"]["ValidationError"]
    assert errors["additionalProperties"] == {"type": "array", "items": {"type": "string"}}


def test_optimistic_concurrency_is_described(schema: dict[str, Any]) -> None:
    for path in ("/api/v1/patients/{id}/", "/api/v1/infections/{id}/"):
        patch = schema["paths"][path]["patch"]
        assert "If-Match" in {p["name"] for p in patch["parameters"]}
        assert "ETag" in patch["responses"]["200"]["headers"]
        assert (
            "version"
            in component(
                schema, patch["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            )["properties"]
        )


@pytest.mark.parametrize(
    ("path", "field", "values"),
    [
        ("/api/v1/patients/", "sex", {"female", "male", "other", "unknown"}),
        ("/api/v1/patients/", "indication", {"ms", "crohns"}),
        ("/api/v1/patients/", "schedule_weeks", {4, 6}),
        (
            "/api/v1/lab-results/",
            "analyte",
            {"ALT", "AST", "TSH", "FT4", "NEUT", "LYMPH", "MONO", "PLT"},
        ),
        ("/api/v1/antibody-tests/", "target", {"natalizumab", "jcv"}),
        ("/api/v1/antibody-tests/", "result", {"positive", "negative", "indeterminate"}),
        ("/api/v1/preparations/", "diluent", {"0.9% NaCl"}),
        ("/api/v1/preparations/", "storage", {"room", "refrigerated"}),
        ("/api/v1/infusions/", "route", {"iv-infusion"}),
        (
            "/api/v1/medications/",
            "category",
            {"immunosuppressant", "antineoplastic", "tnf-inhibitor", "corticosteroid", "other"},
        ),
        (
            "/api/v1/patients/{id}/decisions/",
            "action",
            {"suspend", "resume", "discontinue", "override", "confirm", "reauthorize"},
        ),
    ],
)
def test_write_enums_are_described(
    schema: dict[str, Any], path: str, field: str, values: set
) -> None:
    definition = request_properties(schema, path, "post")[field]
    if "$ref" in definition:
        definition = component(schema, definition["$ref"])
    elif "allOf" in definition:
        definition = component(schema, definition["allOf"][0]["$ref"])
    assert set(definition["enum"]) == values


def test_read_fields_of_the_contract_are_described(schema: dict[str, Any]) -> None:
    props = schema["components"]["schemas"]
    assert {"id", "treatment_status", "infusion_count"} <= set(props["Patient"]["properties"])
    assert "loinc" in props["LabResult"]["properties"]
    assert {"expires_at", "status"} <= set(props["Preparation"]["properties"])
    assert {
        "id",
        "patient",
        "rule",
        "severity",
        "action",
        "status",
        "message",
        "evidence",
        "source",
        "profile",
        "dedup_key",
        "raised_at",
        "updated_at",
    } <= set(props["Alert"]["properties"])
    statuses = component(schema, props["Preparation"]["properties"]["status"]["allOf"][0]["$ref"])
    assert set(statuses["enum"]) == {"ready", "expired", "discarded", "used"}


def test_the_feed_documents_that_next_is_always_given(schema: dict[str, Any]) -> None:
    page = schema["paths"]["/api/v1/alerts/"]["get"]["responses"]["200"]["content"]
    paginated = component(schema, page["application/json"]["schema"]["$ref"])
    assert "next" in paginated["required"]
    assert not paginated["properties"]["next"].get("nullable")
    filters = {p["name"] for p in schema["paths"]["/api/v1/alerts/"]["get"]["parameters"]}
    assert {"patient", "rule", "severity", "status", "updated_after", "cursor"} <= filters


def test_the_docs_page_is_for_logged_in_users(users: dict) -> None:
    anonymous = APIClient()
    assert anonymous.get("/api/v1/docs/").status_code == 401
    assert anonymous.get("/api/v1/schema/").status_code == 401
    browser = APIClient()
    browser.force_login(users["nurse"])
    page = browser.get("/api/v1/docs/")
    assert page.status_code == 200
    assert b"swagger" in page.content.lower()
    # Swagger UI comes from the installed package, never a CDN, and starts from a script file.
    assert b"/static/drf_spectacular_sidecar/swagger-ui-dist/" in page.content
    assert b"cdn." not in page.content.lower() and b"<script>" not in page.content
