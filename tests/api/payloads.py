"""Valid request bodies for every write endpoint, given the `world` fixture."""

from datetime import timedelta
from types import SimpleNamespace
from typing import Any


def valid_body(world: SimpleNamespace, method: str, template: str) -> dict[str, Any] | None:
    """A valid request body for the row, so that an allowed role gets the success status."""
    patient = str(world.patient.pk)
    now = world.now
    bodies: dict[tuple[str, str], dict[str, Any]] = {
        ("POST", "/api/v1/patients/"): {
            "mrn": "NEW-1",
            "given_name": "New",
            "family_name": "Patient",
            "birth_date": "1990-01-01",
            "sex": "male",
            "indication": "crohns",
        },
        # A PATCH names the version it changes (without it: 428).
        ("PATCH", "/api/v1/patients/{id}/"): {"given_name": "Changed", "version": 1},
        ("POST", "/api/v1/patients/{id}/decisions/"): {"action": "suspend", "reason": "ALT"},
        ("POST", "/api/v1/medications/"): {
            "patient": patient,
            "name": "Prednisolone",
            "category": "corticosteroid",
            "started_on": "2025-05-01",
        },
        ("POST", "/api/v1/infections/"): {
            "patient": patient,
            "description": "Bronchitis",
            "onset_on": "2025-05-01",
        },
        ("PATCH", "/api/v1/infections/{id}/"): {
            "resolved_on": now.date().isoformat(),
            "version": 1,
        },
        ("PATCH", "/api/v1/medications/{id}/"): {"stopped_on": now.date().isoformat()},
        ("POST", "/api/v1/lab-results/"): {
            "patient": patient,
            "analyte": "AST",
            "value": 25,
            "unit": "U/L",
            "reference_low": 0,
            "reference_high": 40,
            "collected_at": (now - timedelta(hours=3)).isoformat(),
        },
        ("POST", "/api/v1/antibody-tests/"): {
            "patient": patient,
            "target": "jcv",
            "result": "positive",
            "index": 1.2,
            "collected_at": now.isoformat(),
        },
        ("POST", "/api/v1/mri-studies/"): {
            "patient": patient,
            "performed_on": "2025-09-01",
            "gd_enhancing_lesions": 0,
            "new_or_enlarging_t2_lesions": 1,
        },
        ("POST", "/api/v1/edss/"): {"patient": patient, "score": 3.5, "assessed_on": "2025-09-01"},
        ("POST", "/api/v1/relapses/"): {"patient": patient, "onset_on": "2025-08-01"},
        ("POST", "/api/v1/preparations/"): {
            "patient": patient,
            "dose_mg": 300,
            "diluent": "0.9% NaCl",
            "diluent_volume_ml": 100,
            "prepared_at": (now - timedelta(minutes=5)).isoformat(),
            "storage": "room",
        },
        ("POST", "/api/v1/infusions/"): {
            "patient": patient,
            "preparation": str(world.preparation.pk),
            "checklist": {
                "authorized": True,
                "new_neurological_symptoms": False,
                "immunocompromised": False,
                "immunosuppressants_last_month": False,
                "current_infection": False,
            },
        },
        ("POST", "/api/v1/infusions/{id}/start/"): {"started_at": now.isoformat()},
        ("POST", "/api/v1/infusions/{id}/clear-checklist/"): {"note": "Cystitis treated"},
        ("POST", "/api/v1/infusions/{id}/stop/"): {"ended_at": now.isoformat()},
        ("POST", "/api/v1/infusions/{id}/discharge/"): {"discharged_at": now.isoformat()},
        ("POST", "/api/v1/infusions/{id}/reactions/"): {
            "severity": "mild",
            "symptoms": ["flushing"],
            "onset_at": now.isoformat(),
        },
        ("POST", "/api/v1/alerts/{id}/resolve/"): {"note": "Repeat ALT normal"},
        ("POST", "/api/v1/hl7/"): {
            "message": "MSH|^~\\&|LIS|LAB|NATMON|CLINIC|20260301093000||ORU^R01|P-1|P|2.5.1\r"
            f"PID|1||{world.patient.mrn}^^^HOSP^MR\r"
            f"OBR|1||PERM-1^LIS|24325-3^Hepatic panel^LN|||{now:%Y%m%d%H%M%S%z}\r"
            "OBX|1|NM|1742-6^ALT^LN||30|U/L|7-40||||F\r"
        },
        ("POST", "/api/v1/lab-inbox/{id}/file/"): {"patient": patient},
        ("POST", "/api/v1/lab-inbox/{id}/reject/"): {"reason": "Not a patient of ours"},
    }
    return bodies.get((method, template))
