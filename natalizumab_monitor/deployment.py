"""The deployment's safeguards, read by settings.py: a real SECRET_KEY, and which mode runs.

Two modes (`DEPLOYMENT`):

- `embedded`, the default (`make run`, on SQLite or a developer's own PostgreSQL): without
  SECRET_KEY, the key is a random one made for this installation on first use and kept in
  `var/secret_key` (mode 0600), never a default shared with anyone.
- `production` (`DEPLOYMENT=production`, as docker-compose.yml sets): SECRET_KEY must be
  given; the app refuses to start without it. HTTPS only (settings.py).

Whatever the mode, with DEBUG off a SECRET_KEY that is short (under 50 characters) or one of
the defaults this project ever shipped is refused.

Nothing here imports Django's apps: settings.py calls it while it is being read.
"""

import contextlib
import os
import secrets
import tempfile
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

EMBEDDED = "embedded"
PRODUCTION = "production"
DEPLOYMENTS = (EMBEDDED, PRODUCTION)

MIN_SECRET_KEY_LENGTH = 50
# Keys that were once written in this repository: never a real secret.
KNOWN_DEFAULT_KEYS = frozenset(
    {
        "embedded-mode-only-change-me-in-production",
        "test-only-secret-key",
        "bench-only-secret-key",
        "build-only",
    }
)
SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name, not a key


def deployment_mode(declared: str) -> str:
    """`DEPLOYMENT` as declared; embedded when not."""
    if not declared:
        return EMBEDDED
    if declared not in DEPLOYMENTS:
        raise ImproperlyConfigured(
            f"DEPLOYMENT must be one of {', '.join(DEPLOYMENTS)}, not {declared!r}."
        )
    return declared


def secret_key(given: str, *, mode: str, debug: bool, var_dir: Path) -> str:
    """The SECRET_KEY to use, or ImproperlyConfigured when none is fit for this deployment."""
    if not given:
        if mode == PRODUCTION:
            raise ImproperlyConfigured(
                "SECRET_KEY is not set. A production deployment (DEPLOYMENT=production) needs "
                f"its own key of at least {MIN_SECRET_KEY_LENGTH} random characters, e.g. from "
                '`python -c "import secrets; print(secrets.token_urlsafe(64))"`.'
            )
        return installation_key(var_dir)
    if not debug:
        if given in KNOWN_DEFAULT_KEYS or given.startswith("django-insecure"):
            raise ImproperlyConfigured(
                "SECRET_KEY is a published default, not a secret: set a random key of at least "
                f"{MIN_SECRET_KEY_LENGTH} characters."
            )
        if len(given) < MIN_SECRET_KEY_LENGTH or len(set(given)) < 5:
            raise ImproperlyConfigured(
                f"SECRET_KEY is too short: use at least {MIN_SECRET_KEY_LENGTH} random "
                f"characters (it has {len(given)})."
            )
    return given


def installation_key(var_dir: Path) -> str:
    """This installation's own random key, made on first use and kept in var/ (mode 0600).

    Written to a private temporary file and linked into place, so that processes starting
    together (the embedded web server and its worker) all read the one complete key.
    """
    path = var_dir / SECRET_KEY_FILE
    var_dir.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        descriptor, temporary = tempfile.mkstemp(dir=var_dir, prefix=".secret_key.")  # 0600
        try:
            with os.fdopen(descriptor, "w", encoding="ascii") as handle:
                handle.write(secrets.token_urlsafe(64) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            with contextlib.suppress(FileExistsError):  # another process made it first
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    key = path.read_text(encoding="ascii").strip()
    if len(key) < MIN_SECRET_KEY_LENGTH:
        raise ImproperlyConfigured(f"{path} holds no usable key: delete it and a new one is made.")
    return key
