"""Reads: which patients a response showed, collected in one place for one audit entry.

Every clinical record that names a patient reports the patient when it is loaded (a
post_init receiver on the audited models), so every selector, serializer, page, export and
admin list feeds the collector without a line of its own. The middleware opens the
collector for a request and writes one entry (one INSERT, however many patients) when the
response is a success. A paginator that loads one row beyond the page (DRF's cursor) loads
under `paused()` and reports what it returns with `saw()`.
"""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db.models import Model

_shown: ContextVar[set[str] | None] = ContextVar("audit_shown", default=None)
_paused: ContextVar[bool] = ContextVar("audit_reads_paused", default=False)

# model class -> the attribute naming its patient ("id" for the patient itself; "patients"
# for an audit entry, whose before and after values are the patient's data too)
PATIENT_ATTRIBUTE: dict[type[Model], str] = {}


@contextmanager
def collecting() -> Iterator[set[str]]:
    shown: set[str] = set()
    token = _shown.set(shown)
    try:
        yield shown
    finally:
        _shown.reset(token)


@contextmanager
def paused() -> Iterator[None]:
    token = _paused.set(True)
    try:
        yield
    finally:
        _paused.reset(token)


def _note(instance: Model, shown: set[str]) -> None:
    attribute = PATIENT_ATTRIBUTE.get(type(instance))
    if attribute is None:
        return
    # Only a value already loaded: a deferred column must not cost a query here.
    value = instance.__dict__.get(attribute)
    if isinstance(value, list):  # an audit entry: the patients whose data it holds
        shown.update(str(item) for item in value)
    elif value is not None:
        shown.add(str(value))


def loaded(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    """post_init receiver of the audited models that name a patient."""
    shown = _shown.get()
    if shown is not None and not _paused.get():
        _note(instance, shown)


def saw(instances: Iterable[Any]) -> None:
    """Report records a paused loader returned (the rows of one page)."""
    shown = _shown.get()
    if shown is None:
        return
    for instance in instances:
        if isinstance(instance, Model):
            _note(instance, shown)
