"""Fixtures of the laboratory interface tests: the interface's account, ACK reading, a real
`hl7listen` process and an MLLP sender (python-hl7's asyncio MLLP streams)."""

import asyncio
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import hl7
import pytest
from django.contrib.auth.models import User
from hl7.mllp import open_hl7_connection
from rest_framework.test import APIClient

from tests.pipeline.conftest import (  # noqa: F401 - broker and start_worker are fixtures
    ROOT,
    broker,
    free_port,
    start_worker,
    wait_for,
    worker_env,
)

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


# --- A real `hl7listen` process, and an MLLP sender ----------------------------------------


class ListenerProcess:
    """`manage.py hl7listen` on a free port, on the test database."""

    def __init__(self) -> None:
        self.port = free_port()
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "hl7listen", "--host", "127.0.0.1",
             "--port", str(self.port), "--workers", "4"],
            cwd=ROOT,
            env=worker_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        wait_for(lambda: any("MLLP listener on" in line for line in self.lines), 60, 0.1)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.decode(errors="replace"))

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.alive:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self._reader.join(timeout=5)


@pytest.fixture
def listener() -> Iterator[ListenerProcess]:
    process = ListenerProcess()
    yield process
    process.stop()


async def _exchange(port: int, messages: list[str]) -> list[Ack]:
    """One MLLP connection: each message sent, and its ACK read, in order."""
    reader, writer = await open_hl7_connection("127.0.0.1", port, encoding="utf-8")
    acks = []
    try:
        for message in messages:
            writer.writeblock(message.encode("utf-8"))
            await writer.drain()
            acks.append(Ack.parse((await reader.readblock()).decode("utf-8")))
    finally:
        writer.close()
    return acks


def _run_apart(coroutine: Any) -> Any:
    """asyncio.run in a thread of its own: the browser tests' Playwright keeps an event loop
    running in the main thread for the rest of the run."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def send_mllp(port: int, *messages: str) -> list[Ack]:
    """Send messages over one MLLP connection; their ACKs."""
    return _run_apart(_exchange(port, list(messages)))


def send_mllp_concurrently(port: int, batches: list[list[str]]) -> list[list[Ack]]:
    """One connection per batch, all at once; the ACKs of each batch."""

    async def all_batches() -> list[list[Ack]]:
        return list(await asyncio.gather(*(_exchange(port, batch) for batch in batches)))

    return _run_apart(all_batches())
