"""Whose patients a read may see: the one place where a site's boundary is drawn.

Every manager of a patient's record (`SiteScopedManager`) adds one condition to its
queries, `VisibleSites`, which reads the caller's sites when the SQL is compiled: a queryset
built at import time (a form's choices, a serializer's related field) is scoped to whoever
runs it. Requests set the caller (`network.middleware.SiteScopeMiddleware`); background
work (the sweeps, the timers, the lab listener) has no caller and sees every site.

Uniqueness across the network (an MRN) is checked through `all_sites`, never the scoped
manager.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import models
from django.db.models import BooleanField, Exists, Expression, F, OuterRef

# None: no caller (background work) or a caller who sees every site.
Resolver = Callable[[], frozenset[int] | None]
_caller_sites: ContextVar[Resolver | None] = ContextVar("caller_sites", default=None)


def visible_site_ids() -> frozenset[int] | None:
    """The site ids the current caller may see; None when every site."""
    resolver = _caller_sites.get()
    return None if resolver is None else resolver()


@contextmanager
def caller_sees(resolver: Resolver | None) -> Iterator[None]:
    """Reads within see what `resolver` says (None: every site)."""
    token = _caller_sites.set(resolver)
    try:
        yield
    finally:
        _caller_sites.reset(token)


def sites_of(user: Any) -> frozenset[int] | None:
    """The sites a user works at (one query); None when that is every site.

    With one site in the database, everyone works there, so a one-site installation behaves
    as it did before sites. A user of no site in a network sees nothing.
    """
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    if user.is_superuser:
        return None
    return sites_among(list(sites_with_membership(user).values_list("id", "mine")))


def sites_with_membership(user: Any) -> models.QuerySet:
    """Every site, each annotated `mine`: whether the user works there."""
    from .models import Site

    membership = Site.staff.through.objects.filter(site_id=OuterRef("pk"), user_id=user.pk)
    return Site.objects.annotate(mine=Exists(membership))


def sites_among(rows: list[tuple[int, bool]]) -> frozenset[int] | None:
    """A user's sites from (site id, works there) of every site; None when that is every site."""
    mine = frozenset(site_id for site_id, works_there in rows if works_there)
    if len(mine) == len(rows) or (not mine and len(rows) <= 1):
        return None
    return mine


class VisibleSites(Expression):
    """`<site column> IN (the caller's sites)`, decided when the query is compiled.

    `unplaced`: rows of no site (yet) are everyone's, e.g. a lab result naming no patient.
    """

    conditional = True
    output_field = BooleanField()

    def __init__(self, column: Any, *, unplaced: bool = False) -> None:
        super().__init__()
        self.column = column
        self.unplaced = unplaced

    def get_source_expressions(self) -> list[Any]:
        return [self.column]

    def set_source_expressions(self, expressions: list[Any]) -> None:
        (self.column,) = expressions

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        sites = visible_site_ids()
        if sites is None:
            return "1 = 1", []
        column, params = compiler.compile(self.column)
        if not sites:
            return (f"{column} IS NULL", params) if self.unplaced else ("1 = 0", [])
        marks = ", ".join(["%s"] * len(sites))
        condition = f"{column} IN ({marks})"
        if self.unplaced:
            condition = f"({column} IS NULL OR {condition})"
        return condition, [*params, *sorted(sites)]


class SiteScopedManager(models.Manager):
    """The default manager of a patient's record: only the caller's sites' rows.

    `site_path` leads from the record to its patient's site. (A class attribute: Django
    makes the related managers, `patient.infusions`, from the class alone.)
    """

    site_path = "patient__site"
    unplaced = False  # rows of no site: everyone's

    def get_queryset(self) -> models.QuerySet:
        condition = VisibleSites(F(self.site_path), unplaced=self.unplaced)
        return super().get_queryset().filter(condition)


class PatientScopedManager(SiteScopedManager):
    site_path = "site"


class ReactionScopedManager(SiteScopedManager):
    site_path = "infusion__patient__site"


class NotificationScopedManager(SiteScopedManager):
    site_path = "alert__patient__site"


class InboxScopedManager(SiteScopedManager):
    """Lab inbox entries: of the named patient's site, or everyone's when no patient is known."""

    site_path = "site"
    unplaced = True


def scoped_stream(resolver: Resolver | None, content: Any) -> Iterator[Any]:
    """A streamed response's chunks, each produced with the request's caller."""
    chunks = iter(content)
    while True:
        with caller_sees(resolver):
            try:
                chunk = next(chunks)
            except StopIteration:
                return
        yield chunk
