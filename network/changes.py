"""A version of each site's records, for lists kept between changes (network/kept.py).

A site's version is a random token in the shared cache, replaced after every committed
write of a clinical record of one of its patients (alerts/signals.py: the same hook that
marks the patient for evaluation, so every path that writes takes it) and after every
evaluation of one of its patients (which stores their clearances). A write to a patient
itself, or to a site, replaces the network's token instead: a patient may have moved from
one site to another, a site may have changed its time zone. A list kept under the old
tokens is never read again.

Kept only where the cache is shared by every process (Redis: CACHE_URL); the embedded
mode's cache is one process's memory, which a worker's evaluation would never reach. A
failure of the cache is logged and the lists are read from the database.
"""

import logging
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

NETWORK_KEY = "records-version:network"


def enabled() -> bool:
    return bool(settings.KEEP_DAY_LISTS)


def _site_key(site_id: int) -> str:
    return f"records-version:site:{site_id}"


def version(site_ids: Iterable[int]) -> str:
    """The network's and the sites' tokens; made by the first reader when missing (a new
    cache, or one that lost its keys: a new token, so no list kept before is read)."""
    keys = [NETWORK_KEY, *(_site_key(site_id) for site_id in site_ids)]
    found = cache.get_many(keys)
    for key in keys:
        if key not in found:
            cache.add(key, uuid.uuid4().hex, timeout=None)
            found[key] = cache.get(key)
            if found[key] is None:
                raise LookupError("the cache keeps no version")
    return ".".join(found[key] for key in keys)


def sites_changed(site_ids: Iterable[int]) -> None:
    """After a commit that changed these sites' records."""
    if enabled():
        _replace({_site_key(site_id): uuid.uuid4().hex for site_id in set(site_ids)})


def network_changed() -> None:
    """After a commit that changed a patient's or a site's own row."""
    if enabled():
        _replace({NETWORK_KEY: uuid.uuid4().hex})


def patients_changed(patient_ids: Iterable[object]) -> None:
    """After a commit that changed these patients' records (their sites looked up)."""
    if not enabled():
        return
    from patients.models import Patient

    ids = list(patient_ids)
    if ids:
        sites_changed(
            Patient.all_sites.filter(pk__in=ids).values_list("site_id", flat=True).distinct()
        )


def _replace(tokens: dict[str, str]) -> None:
    try:
        cache.set_many(tokens, timeout=None)
    except Exception:
        # The lists kept expire by themselves (kept.KEPT_AT_MOST_SECONDS).
        logger.exception("Could not record a change of the records in the cache")
