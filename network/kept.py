"""Lists kept between the changes of their sites' records: the nurse's list and the bag
board of a site, the neurologist's worklist of their sites.

Every nurse of a site opens the same list, many times an hour, while its records change
a few times an hour. A list is kept in the shared cache under:

- the versions of its sites (network/changes.py: replaced after every committed write of
  one of their patients' records, every evaluation of one of them, and every alert a
  person acknowledges or resolves),
- the day and the thresholds in force,

and read only before the first moment its clearances may change by time alone (stored
clearances end at their `clearance_until`; a list with a clearance computed on the spot is
not kept), and for at most KEPT_AT_MOST_SECONDS (each list for a random share of it, at
least half: lists made together are not all made again together), which bounds how long a
change whose version was lost (a process killed between its commit and the new token)
could go unseen.
The rows keep no countdown: countdowns are drawn from the bags' expiry at each request.

Each process also holds the lists it last used (HELD_HERE of them, under the same keys):
reading the version is one small request to the cache; rebuilding a hundred rows from
the cache's bytes would cost more than drawing them.

A list read from the cache still names its patients to the audit of the request.
"""

import logging
import random
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from django.core.cache import cache
from django.db.models import Model

from alerts.evaluation import config_version
from alerts.profile import active_config
from audit import reads
from natalizumab_monitor import clock

from . import changes

logger = logging.getLogger(__name__)

KEPT_AT_MOST_SECONDS = 60
HELD_HERE = 64

T = TypeVar("T")


@dataclass(frozen=True)
class _Kept(Generic[T]):
    value: T
    until: datetime | None  # its first change by time alone (None: none)
    made_at: datetime
    kept_for: float  # seconds, at most KEPT_AT_MOST_SECONDS

    def holds(self, now: datetime) -> bool:
        if self.until is not None and now >= self.until:
            return False
        return timedelta(0) <= now - self.made_at < timedelta(seconds=self.kept_for)


# This process's lists, by key, the last used last. Only read, never changed, by the pages.
_held: OrderedDict[str, _Kept] = OrderedDict()


def _hold(key: str, kept: _Kept) -> None:
    _held[key] = kept
    _held.move_to_end(key)
    while len(_held) > HELD_HERE:
        _held.popitem(last=False)


def kept(
    name: str,
    site_ids: Callable[[], Iterable[int] | None],
    compute: Callable[[], tuple[T, datetime | None]],
    shown: Callable[[T], Iterable[Model]],
) -> T:
    """The list `name` of the patients of the sites `site_ids()` gives (None: no site yet,
    never kept): kept, or computed (and kept while it holds).

    `compute` gives the list and the first moment it may change by time alone; `shown`
    the records of it that name a patient, for the audit of a list read from the cache.
    """
    ids = site_ids() if changes.enabled() else None
    if ids is None:
        return compute()[0]
    sites = sorted(set(ids))
    now = clock.now()
    try:
        key = ":".join(
            (
                "kept-list",
                name,
                ",".join(str(site_id) for site_id in sites),
                clock.clinic_today().isoformat(),
                config_version(active_config()),
                changes.version(sites),
            )
        )
        found = _held.get(key)
        if found is None or not found.holds(now):
            found = cache.get(key)
    except Exception:
        logger.exception("The cache could not be read; the list is read from the database")
        return compute()[0]
    if isinstance(found, _Kept) and found.holds(now):
        _hold(key, found)
        reads.saw(shown(found.value))
        return found.value
    value, until = compute()
    kept_for = KEPT_AT_MOST_SECONDS * random.uniform(0.5, 1.0)  # noqa: S311 - not a secret
    kept = _Kept(value, until, made_at=now, kept_for=kept_for)
    lasts = int(kept_for if until is None else min(kept_for, (until - now).total_seconds()))
    if lasts > 0:
        _hold(key, kept)
        try:
            cache.set(key, kept, timeout=lasts)
        except Exception:
            logger.exception("The list could not be kept in the cache")
    return value
