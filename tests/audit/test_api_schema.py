"""The audit's endpoints, fuzzed from the published schema as the auditor: no 5xx, only
documented status codes, bodies that conform (the clinical endpoints answer 403)."""

from types import SimpleNamespace

import pytest
from django.contrib.auth.models import User

from tests.api import test_schemathesis as fuzz


@pytest.mark.django_db
def test_every_operation_conforms_for_the_auditor(
    users: dict[str, User], world: SimpleNamespace, capsys: pytest.CaptureFixture[str]
) -> None:
    fuzz.test_every_operation_conforms_to_the_schema("auditor", users, world, capsys)
