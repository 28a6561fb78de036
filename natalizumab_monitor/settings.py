"""Settings for the natalizumab treatment monitor: one module, driven by environment variables.

The defaults are the embedded mode: a SQLite file, a broker that needs no server, debug off.
Production sets DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL (Redis).
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab

from natalizumab_monitor import deployment

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("NATALIZUMAB_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env(
    DEBUG=(bool, False),
    ALLOWED_HOSTS=(list, ["localhost", "127.0.0.1", "[::1]"]),
    CSRF_TRUSTED_ORIGINS=(list, []),
    CLINIC_TIME_ZONE=(str, "Europe/London"),
    CLINIC_NAME=(str, "Infusion centre"),
    RULE_PROFILE=(str, "document"),
    CELERY_TASK_ALWAYS_EAGER=(bool, False),
)

# SECRET_KEY: under "Deployment safeguards" below (what is required depends on the database).
DEBUG = env("DEBUG")
ALLOWED_HOSTS = env("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # the API docs' Swagger UI, served from the package
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "natalizumab_monitor",
    "patients",
    "infusions",
    "labs",
    "alerts",
    "audit",
    "interop",
    "network",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "natalizumab_monitor.security.SecurityHeadersMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "natalizumab_monitor.security.MalformedSessionCookieMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "network.middleware.SiteScopeMiddleware",
    "audit.middleware.AuditMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "natalizumab_monitor.security.SessionLimitsMiddleware",
    "natalizumab_monitor.security.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "natalizumab_monitor.middleware.MethodNotAllowedPageMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
]

ROOT_URLCONF = "natalizumab_monitor.urls"
WSGI_APPLICATION = "natalizumab_monitor.wsgi.application"
ASGI_APPLICATION = "natalizumab_monitor.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "alerts.context_processors.notifications",
                "network.context_processors.sites",
            ],
        },
    },
    {
        # The rows of the day's lists (a hundred and more a page): several times faster.
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates" / "jinja2"],
        "APP_DIRS": False,
        "OPTIONS": {"environment": "natalizumab_monitor.jinja_env.environment"},
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'natalizumab.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded web server and worker share one file: wait for each other's locks.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Short queries only: PostgreSQL's JIT compiler, which starts on a plan's estimated cost,
    # would spend tens of milliseconds compiling a page's query that runs in a few.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")

# --- Deployment safeguards (natalizumab_monitor/deployment.py) ------------------------------
# DEPLOYMENT=production needs a real SECRET_KEY (50+ characters, never a published default)
# or refuses to start; otherwise (embedded, the default) a missing key is a random one made
# for this installation in var/secret_key. With DEBUG off a short or published key is refused
# in either mode. DEPLOYMENT=production also turns on HTTPS only: redirect to https, HSTS
# (subdomains, preload) and, behind the TLS proxy, its forwarded scheme.
DEPLOYMENT = deployment.deployment_mode(env.str("DEPLOYMENT", default=""))
SECRET_KEY = deployment.secret_key(
    env.str("SECRET_KEY", default=""), mode=DEPLOYMENT, debug=DEBUG, var_dir=VAR_DIR
)
_https_only = DEPLOYMENT == deployment.PRODUCTION
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=_https_only)
SECURE_REDIRECT_EXEMPT = [r"^health/$"]  # the container's own health probe, over plain HTTP
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if _https_only else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
# Only behind a proxy that sets X-Forwarded-Proto itself (compose: Caddy) and is the only way in.
if env.bool("BEHIND_TLS_PROXY", default=_https_only):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The cache (API rate limits, the day lists kept): Redis in production (CACHE_URL=redis://...),
# this process's memory in the embedded mode.
_cache_url = env.str("CACHE_URL", default="")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url}
    if _cache_url
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}
# The nurse's list and the bag board are kept between their site's changes
# (network/kept.py) where the cache is shared by every process, never in one
# process's memory, which a worker's evaluation would not reach.
KEEP_DAY_LISTS = env.bool("KEEP_DAY_LISTS", default=True) and bool(_cache_url)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Sign-in, sessions and the browser's safeguards --------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",  # reads hashes made before argon2
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a locked-out username or address first
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Lockout (django-axes): LOGIN_FAILURE_LIMIT failures for a username (from any address), or
# from an address, refuse further sign-ins for LOCKOUT_MINUTES. `manage.py axes_reset_username
# NAME` unlocks a user.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = True  # failures are logged (username and address, never a password)
AXES_IPWARE_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# Two factors (django-otp, TOTP): required for these roles and every admin user.
MFA_REQUIRED_ROLES = env.list("MFA_REQUIRED_ROLES", default=["neurologist", "auditor"])
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Natalizumab monitor")

# Sessions: idle logoff on shared ward tablets, and a shift's length in all.
SESSION_IDLE_MINUTES = env.int("SESSION_IDLE_MINUTES", default=15)
SESSION_MAX_HOURS = env.int("SESSION_MAX_HOURS", default=12)
SESSION_COOKIE_AGE = SESSION_MAX_HOURS * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# Content-Security-Policy (django-csp): scripts and styles from this site only, no inline
# script, no framing, no plugins.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
    }
}
PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), bluetooth=(), "
    "magnetometer=(), gyroscope=(), accelerometer=(), interest-cohort=()"
)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

LANGUAGE_CODE = "en-gb"
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"  # stored and processed in UTC
CLINIC_TIME_ZONE = env("CLINIC_TIME_ZONE")  # shown to clinicians
# The site of a one-site installation (network/): made with the first patient.
CLINIC_NAME = env("CLINIC_NAME")

# Laboratory interface: the MLLP listener's port, and (if set) the only assigning authority
# whose PID-3 medical record numbers name our patients.
HL7_MLLP_PORT = env.int("HL7_MLLP_PORT", default=2575)
HL7_MRN_ASSIGNING_AUTHORITY = env.str("HL7_MRN_ASSIGNING_AUTHORITY", default="")

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
NODE_MODULES_DIR = BASE_DIR / "node_modules"
# Front-end packages come from npm (package.json); only their dist folders are served.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/htmx", NODE_MODULES_DIR / "htmx.org" / "dist"),
    ("vendor/chart.js", NODE_MODULES_DIR / "chart.js" / "dist"),
    ("vendor/chartjs-plugin-annotation", NODE_MODULES_DIR / "chartjs-plugin-annotation" / "dist"),
]
# Serve straight from the app's folders too, so nothing needs collecting before a run.
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="monitor@localhost")

# --- Clinical rules -------------------------------------------------------------------------
# The profile of CLINICAL_RULES.md in force, and site overrides of single thresholds
# (JSON object, e.g. RULE_OVERRIDES='{"reminder_grace_days": 7}').
RULE_PROFILE = env("RULE_PROFILE")
RULE_OVERRIDES = env.json("RULE_OVERRIDES", default={})

# --- REST API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "natalizumab_monitor.rest.TokenAuthentication",  # knox, refusing malformed tokens
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "natalizumab_monitor.rest.RecordCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_PARSER_CLASSES": ["natalizumab_monitor.rest.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_METADATA_CLASS": None,  # OPTIONS is not part of the API
    "EXCEPTION_HANDLER": "natalizumab_monitor.api.exception_handler",
    "COERCE_DECIMAL_TO_STRING": False,  # lab values, doses and scores are JSON numbers
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # Per user (and per address for anonymous calls); past the rate, 429 with Retry-After.
    "DEFAULT_THROTTLE_CLASSES": [
        "natalizumab_monitor.rest.UserRateThrottle",
        "natalizumab_monitor.rest.AnonRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env.str("API_RATE_USER", default="300/minute"),
        "anon": env.str("API_RATE_ANON", default="60/minute"),
    },
    # Proxies in front that append X-Forwarded-For (compose: 1, Caddy): the client's address.
    "NUM_PROXIES": env.int("TRUSTED_PROXY_COUNT", default=0),
}
# Tokens are stored as hashes and expire (API_TOKEN_TTL_DAYS=0 means never).
_token_ttl_days = env.int("API_TOKEN_TTL_DAYS", default=90)
REST_KNOX = {
    "AUTH_HEADER_PREFIX": "Token",
    "TOKEN_TTL": timedelta(days=_token_ttl_days) if _token_ttl_days > 0 else None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Natalizumab treatment monitor API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI from the drf-spectacular-sidecar package, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "natalizumab_monitor.api.document_rate_limits",  # 429 with Retry-After, everywhere
    ],
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "TreatmentStatusEnum": "patients.models.TreatmentStatus",
        "InfusionStatusEnum": "infusions.models.InfusionStatus",
        "PreparationStatusEnum": "infusions.filters.PREPARATION_STATUSES",
        "AlertStatusEnum": "alerts.models.AlertStatus",
        "AlertSeverityEnum": "alerts.models.Severity",
        "AlertActionEnum": "alerts.models.Action",
        "ReactionSeverityEnum": "infusions.models.ReactionSeverity",
        "DecisionActionEnum": "patients.models.DecisionAction",
        "AnalyteEnum": "labs.models.Analyte",
        "LabInterfaceTestEnum": "interop.mapping.TEST_CHOICES",
    },
    "APPEND_COMPONENTS": {
        "schemas": {
            "ValidationError": {
                "type": "object",
                "description": "Bad input: each named field with its messages. A nested field "
                'is named with dots ("checklist.authorized"); a problem with the body as a '
                'whole is under "non_field_errors".',
                "additionalProperties": {"type": "array", "items": {"type": "string"}},
                "example": {"unit": ["ALT is reported in U/L (UCUM), not 'mg/dL'."]},
            }
        }
    },
}

# --- Audit ----------------------------------------------------------------------------------
# Every write and every read of a patient's record leaves an entry (audit/). Off only to
# measure what it costs (bench/audit_cost.py).
AUDIT_ENABLED = env.bool("AUDIT_ENABLED", default=True)
# Entries older than this are archived and removed by `manage.py archiveaudit` (HIPAA: 6 years).
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=6 * 365 + 2)
AUDIT_ARCHIVE_DIR = Path(env.str("AUDIT_ARCHIVE_DIR", default=str(VAR_DIR / "audit-archive")))
# A write through these paths is an import (the laboratory interface), not a clinician's.
AUDIT_IMPORT_PATHS = env.list("AUDIT_IMPORT_PATHS", default=["/api/v1/hl7/", "/fhir/"])

# --- Celery ----------------------------------------------------------------------------------
# Embedded default: the filesystem transport needs no broker server; the worker and the web
# process on one machine exchange messages through these folders.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
# Late acknowledgement: a task's message stays in Redis until it is done; the visibility timeout
# must outlast the longest task (and its wait in a worker's prefetch) so it is not redelivered
# while still running. A worker killed outright has its message redelivered after it.
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
# Hard limit well under the visibility timeout: a reserved message may wait one task's length.
CELERY_TASK_TIME_LIMIT = env.int(
    "CELERY_TASK_TIME_LIMIT", default=min(600, CELERY_VISIBILITY_TIMEOUT * 2 // 5)
)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT * 9 // 10
if not 0 < CELERY_TASK_TIME_LIMIT * 2 < CELERY_VISIBILITY_TIMEOUT:
    raise ValueError("CELERY_TASK_TIME_LIMIT must be under half of CELERY_VISIBILITY_TIMEOUT")
# A request never hangs on the broker: connect within a second, retry a publish once, briefly;
# the database keeps a durable mark of every patient to evaluate (alerts.PendingEvaluation).
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=1.0)
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir / "out"),
        "data_folder_out": str(_queue_dir / "out"),
        "processed_folder": str(_queue_dir / "processed"),
        "store_processed": False,
        # The worker's remote-control exchange (kombu's default: ./control in the cwd).
        "control_folder": str(_queue_dir / "control"),
    }
    for _sub in ("out", "processed", "control"):
        (_queue_dir / _sub).mkdir(parents=True, exist_ok=True)
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
        # Bounds for opening a channel when publishing (kombu default: retry forever).
        "max_retries": 1,
        "interval_start": 0,
        "interval_step": 0.2,
        "interval_max": 0.2,
        "socket_connect_timeout": CELERY_BROKER_CONNECTION_TIMEOUT,
        # A broker that vanishes without closing the connection must not hang a publish.
        "socket_timeout": env.float("CELERY_BROKER_SOCKET_TIMEOUT", default=1.0),
        # Look for messages of killed workers every few seconds (kombu: every 100 s).
        "unacked_restore_interval": max(1, min(10, CELERY_VISIBILITY_TIMEOUT // 4)),
        "unacked_restore_throttle": 1,
    }
CELERY_TASK_ALWAYS_EAGER = env("CELERY_TASK_ALWAYS_EAGER")
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# A task cut off by a lost broker connection is redelivered (it is idempotent), not doubled.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Beat's record of when each entry last ran: under var/, never in the working directory.
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# Exactly one beat runs this (docker-compose `beat`, or `runembedded`). Due times live in the
# database; beat only wakes the timers and the sweep, whose messages expire rather than pile up.
ALERT_TIMERS_INTERVAL_SECONDS = env.float("ALERT_TIMERS_INTERVAL_SECONDS", default=60.0)
ALERT_SWEEP_HOUR_UTC = env.int("ALERT_SWEEP_HOUR_UTC", default=2)
ALERT_SWEEP_MINUTE_UTC = env.int("ALERT_SWEEP_MINUTE_UTC", default=30)
ALERT_SWEEP_BATCH_SIZE = env.int("ALERT_SWEEP_BATCH_SIZE", default=200)
# Nightly, only the patients whose findings time has changed (and those marked) are evaluated;
# on this day of the week (crontab: 0 = Sunday) every patient is, proving nothing was missed.
ALERT_FULL_SWEEP_WEEKDAY = env.int("ALERT_FULL_SWEEP_WEEKDAY", default=0)
# Pause between sweep batches, to spare a busy database (0: none).
ALERT_SWEEP_BATCH_PAUSE_SECONDS = env.float("ALERT_SWEEP_BATCH_PAUSE_SECONDS", default=0.0)
# A patient marked for evaluation this long ago whose task never ran is evaluated by the timers.
ALERT_PENDING_GRACE_SECONDS = env.float("ALERT_PENDING_GRACE_SECONDS", default=30.0)
CELERY_BEAT_SCHEDULE = {
    "alert-timers": {
        "task": "alerts.tasks.run_timers",
        "schedule": timedelta(seconds=ALERT_TIMERS_INTERVAL_SECONDS),
        "options": {"expires": ALERT_TIMERS_INTERVAL_SECONDS * 0.9},
    },
    "alert-nightly": {
        "task": "alerts.tasks.nightly",
        "schedule": crontab(
            hour=ALERT_SWEEP_HOUR_UTC,
            minute=ALERT_SWEEP_MINUTE_UTC,
            day_of_week=",".join(str(day) for day in range(7) if day != ALERT_FULL_SWEEP_WEEKDAY),
        ),
        "options": {"expires": 6 * 3600},
    },
    "alert-full-sweep": {
        "task": "alerts.tasks.sweep",
        "schedule": crontab(
            hour=ALERT_SWEEP_HOUR_UTC,
            minute=ALERT_SWEEP_MINUTE_UTC,
            day_of_week=str(ALERT_FULL_SWEEP_WEEKDAY),
        ),
        "options": {"expires": 6 * 3600},
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
