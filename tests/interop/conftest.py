"""Fixtures of the laboratory interface tests: the interface's account, ACK reading."""

from collections.abc import Callable
from dataclasses import dataclass

import hl7
import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

ER7 = "x-application/hl7-v2+er7"


@dataclass(frozen=True)
class Ack:
    code: str
    control_id: str
    text: str
    error_code: str

    @classmethod
    def parse(cls, er7: str) -> "Ack":
        message = hl7.parse(er7.replace("\r\n", "\r"))
        msa = message.segment("MSA")
        try:
            err = message.segment("ERR")
            error_code = str(err.extract_field(1, 3, 1, 1, 1))
        except KeyError:
            error_code = ""
        return cls(
            code=str(msa.extract_field(1, 1)),
            control_id=str(msa.extract_field(1, 2)),
            text=str(msa.extract_field(1, 3)),
            error_code=error_code,
        )


@pytest.fixture
def interface_user(users: dict[str, User]) -> User:
    return users["interface"]


@pytest.fixture
def post_hl7(interface_user: User) -> Callable[[str], Ack]:
    """POST one message to /api/v1/hl7/ as the laboratory system; the parsed ACK."""
    client = APIClient()
    client.force_authenticate(interface_user)

    def post(message: str) -> Ack:
        response = client.post("/api/v1/hl7/", message.encode(), content_type=ER7)
        assert response.status_code == 200, response.content
        assert response["Content-Type"].startswith(ER7)
        return Ack.parse(response.content.decode())

    return post
