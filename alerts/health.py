"""Is the background work alive? The last timers run and the last sweep, and the broker.

For the health check (/health/) and, later, the neurologist's pages.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from kombu import Connection

from alerts.models import Heartbeat
from natalizumab_monitor import clock

TIMERS = "timers"
SWEEP = "sweep"  # the nightly job or the full sweep, whichever finished last
FULL_SWEEP = "full-sweep"  # the weekly full sweep
# Beat wakes the timers every minute: five minutes without a run means beat is down.
TIMERS_STALE_AFTER = timedelta(minutes=5)
# The sweep runs nightly: more than a day and a bit without one means a night was missed.
SWEEP_STALE_AFTER = timedelta(hours=26)


@dataclass(frozen=True)
class BackgroundStatus:
    last_timers_run: datetime | None
    last_sweep: datetime | None
    timers_ok: bool
    sweep_ok: bool


def background_status(now: datetime | None = None) -> BackgroundStatus:
    now = now or clock.now()
    runs = dict(
        Heartbeat.objects.filter(name__in=[TIMERS, SWEEP]).values_list("name", "last_run_at")
    )
    timers, sweep = runs.get(TIMERS), runs.get(SWEEP)
    return BackgroundStatus(
        last_timers_run=timers,
        last_sweep=sweep,
        timers_ok=timers is not None and now - timers <= TIMERS_STALE_AFTER,
        sweep_ok=sweep is not None and now - sweep <= SWEEP_STALE_AFTER,
    )


def broker_reachable(timeout: float = 1.0) -> bool:
    """Connect to the broker once, giving up after `timeout` seconds; no retries."""
    options = {
        **settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        "max_retries": 0,
        "socket_connect_timeout": timeout,
        "socket_timeout": timeout,
    }
    try:
        with Connection(
            settings.CELERY_BROKER_URL, connect_timeout=timeout, transport_options=options
        ) as connection:
            connection.ensure_connection(max_retries=0, timeout=timeout)
            connection.default_channel  # noqa: B018 - opening a channel talks to the broker
    except Exception:  # noqa: BLE001 - any failure means the broker is not usable
        return False
    return True
