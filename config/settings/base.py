"""Settings shared by every environment; each value a deployment changes comes from the env."""

from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

from core.storage import default_storage_config

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# A developer's .env fills what the environment leaves unset; tests that check how the settings
# react to the environment alone turn it off.
if env.bool("DJANGO_READ_DOT_ENV", default=True):
    env.read_env(str(BASE_DIR / ".env"), overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[])

# Apps -----------------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    "auditlog",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "core",
    "products",
    "customers",
    "schedule",
    "tickets",
    "notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "core.middleware.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "customers.sessions.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "customers.middleware.AuditlogMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "schedule.middleware.MaintenanceMiddleware",
    "core.middleware.StaffSessionMiddleware",
    "customers.middleware.StaffTwoFactorMiddleware",
    "core.middleware.ContentSecurityPolicyMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "django.template.context_processors.i18n",
                "core.context_processors.portal",
                "customers.context_processors.access",
                "schedule.context_processors.notices",
            ],
        },
    },
]

# Data -----------------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
# Behind PgBouncer in transaction mode a server connection serves this process for one
# transaction only, then another client: nothing may outlive a transaction on it. No persistent
# connections (PgBouncer keeps them), no server-side cursors (a cursor lives on one server
# connection, across transactions when iterating), no prepared statements (psycopg 3 prepares a
# query it has run a few times, on a server connection the next transaction may not get).
DATABASE_TRANSACTION_POOLING = env.bool("DATABASE_TRANSACTION_POOLING", default=False)


def transaction_pooling(database: dict) -> dict:
    """Make a database setting safe behind a transaction-mode pooler (PgBouncer)."""
    database["CONN_MAX_AGE"] = 0
    database["DISABLE_SERVER_SIDE_CURSORS"] = True
    if database["ENGINE"] == "django.db.backends.postgresql":
        database.setdefault("OPTIONS", {})["prepare_threshold"] = None
    return database


if DATABASE_TRANSACTION_POOLING:
    transaction_pooling(DATABASES["default"])
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Accounts -------------------------------------------------------------------------------------
AUTH_USER_MODEL = "customers.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "customers.backends.CodeOrEmailBackend",
]
LOGIN_URL = "customers:login"
LOGIN_REDIRECT_URL = "tickets:home"
LOGOUT_REDIRECT_URL = "tickets:home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24

# Failed log-ins are throttled per user name *and* address, so one attacker behind a shared proxy
# cannot lock every customer out.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.5)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "username"
AXES_LOCKOUT_TEMPLATE = "customers/locked_out.html"
# The address that counts is the one our reverse proxies saw (customers/ip.py): the entry that
# many places from the right of X-Forwarded-For, which nginx appends to (deploy/nginx/). 0 means
# gunicorn is reached directly and REMOTE_ADDR is the client; production defaults to 1 (nginx).
# gunicorn must then be reachable only through the proxies, or any client can name its address.
AXES_IPWARE_PROXY_COUNT = env.int("AXES_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "customers.ip.client_ip_address"

SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 24 * 14)
# Sessions stay in the database alone. Reading them from the cache would save a query a page,
# but a log-out made while Redis is away could not delete the cached copy (core.cache drops the
# write, remembered by that process only), and another process would keep honouring the session
# once Redis answers again. The query is shared instead: a session row names its user, read
# with it in one query (customers.sessions).
SESSION_ENGINE = "customers.sessions"
# Staff sessions are cut short by core.middleware.StaffSessionMiddleware.
STAFF_SESSION_AGE = env.int("STAFF_SESSION_AGE", default=60 * 60 * 8)

# Two-factor log-in for staff (django-otp): operators and managers confirm each session with a
# TOTP code from an authenticator app, or one of their single-use recovery codes; set up at their
# first log-in (customers.middleware.StaffTwoFactorMiddleware). Customers are never asked.
# Off by default only in the local and test settings.
STAFF_REQUIRE_2FA = env.bool("STAFF_REQUIRE_2FA", default=True)
# The name authenticator apps show next to the account.
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", default="Supporto tecnico")
# django-otp's own throttle: after n failed codes in a row the next try waits 2^(n-1) seconds.
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1
STAFF_RECOVERY_CODES = 10

# Internationalisation -------------------------------------------------------------------------
LANGUAGE_CODE = "it"
LANGUAGES = [("it", _("Italian")), ("en", _("English")), ("fr", _("French"))]
# Support itself is given in these two only (terms, §2).
TICKET_LANGUAGES = [("it", _("Italian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Day first and 24 hours in every language, English included (config/formats/).
FORMAT_MODULE_PATH = ["config.formats"]
# Pages, e-mails and the admin show every instant in the service's own zone (SERVICE_TIME_ZONE).
TIME_ZONE = env("SERVICE_TIME_ZONE", default="Europe/Rome")
USE_I18N = True
USE_TZ = True

# Static and private files ---------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
# Every upload is private: there is no public MEDIA_URL; files go out through a view that checks
# who is asking.
PRIVATE_MEDIA_ROOT = env.path("PRIVATE_MEDIA_ROOT", default=BASE_DIR / "var" / "private")
# AWS_STORAGE_BUCKET_NAME moves them to a private S3-compatible bucket instead (core.storage:
# endpoint, keys, region and key prefix from AWS_S3_ENDPOINT_URL, AWS_ACCESS_KEY_ID,
# AWS_SECRET_ACCESS_KEY, AWS_S3_REGION_NAME, AWS_LOCATION), which every web and worker process
# shares; the files still go out through the same views, streamed from the bucket.
STORAGES = {
    "default": default_storage_config(
        private_media_root=PRIVATE_MEDIA_ROOT,
        bucket=env("AWS_STORAGE_BUCKET_NAME", default=""),
        endpoint_url=env("AWS_S3_ENDPOINT_URL", default=""),
        access_key=env("AWS_ACCESS_KEY_ID", default=""),
        secret_key=env("AWS_SECRET_ACCESS_KEY", default=""),
        region=env("AWS_S3_REGION_NAME", default=""),
        location=env("AWS_LOCATION", default=""),
    ),
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
FILE_UPLOAD_PERMISSIONS = 0o640
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

ATTACHMENT_MAX_SIZE = env.int("ATTACHMENT_MAX_SIZE_MB", default=20) * 1024 * 1024
ATTACHMENT_MAX_COUNT = env.int("ATTACHMENT_MAX_COUNT", default=10)
ATTACHMENT_MAX_IMAGE_PIXELS = env.int("ATTACHMENT_MAX_IMAGE_PIXELS", default=40_000_000)
# Files kept for a refused form's retry (staged: no ticket yet), per customer, and how long.
ATTACHMENT_STAGED_MAX_COUNT = env.int("ATTACHMENT_STAGED_MAX_COUNT", default=20)
ATTACHMENT_STAGED_MAX_SIZE = env.int("ATTACHMENT_STAGED_MAX_MB", default=200) * 1024 * 1024
ATTACHMENT_STAGED_MAX_AGE_HOURS = env.int("ATTACHMENT_STAGED_MAX_AGE_HOURS", default=24)
# How often Celery beat runs the sweep of old staged files (tickets.attachments_sweep_staged).
ATTACHMENT_STAGED_SWEEP_SECONDS = env.int("ATTACHMENT_STAGED_SWEEP_SECONDS", default=3600)

# E-mail ---------------------------------------------------------------------------------------
# An empty EMAIL_URL (an unset `${VAR}`) means the default, not an invalid URL.
EMAIL_CONFIG = env.email_url_config(env("EMAIL_URL", default="").strip() or "consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Supporto tecnico <support@example.com>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
PORTAL_BASE_URL = env("PORTAL_BASE_URL", default="http://127.0.0.1:8000")
# The address customers' replies go to, as support+t<number>-<signature>@domain (notifications.
# threading): the Reply-To of their e-mails, when the mail server delivers plus-addresses to the
# mailbox INBOUND_IMAP_URL reads (Gmail, Office 365 and Dovecot do). Empty: no Reply-To; replies
# go to DEFAULT_FROM_EMAIL and are matched by their In-Reply-To.
INBOUND_REPLY_ADDRESS = env("INBOUND_REPLY_ADDRESS", default="")
# The support mailbox customers' replies are read from (tickets.inbound.mailbox), e.g.
# imaps://support%40example.com:app-password@imap.example.com:993/INBOX; empty: not read.
INBOUND_IMAP_URL = env("INBOUND_IMAP_URL", default="")
INBOUND_IMAP_POLL_SECONDS = env.int("INBOUND_IMAP_POLL_SECONDS", default=60)
INBOUND_IMAP_TIMEOUT = env.int("INBOUND_IMAP_TIMEOUT", default=30)
# After a failed reading the mailbox waits POLL_SECONDS, doubled at each failure, up to this.
INBOUND_IMAP_BACKOFF_MAX_SECONDS = env.int("INBOUND_IMAP_BACKOFF_MAX_SECONDS", default=3600)
# One reading at a time; a reading that died frees the mailbox after this.
INBOUND_IMAP_READING_LEASE_SECONDS = env.int("INBOUND_IMAP_READING_LEASE_SECONDS", default=600)
# Automatic answers (tickets.inbound.answers) to one address, an hour at most.
INBOUND_ANSWERS_PER_HOUR = env.int("INBOUND_ANSWERS_PER_HOUR", default=3)
# A message larger than this is not downloaded: its header is kept, with the reason.
INBOUND_MAIL_MAX_SIZE = env.int("INBOUND_MAIL_MAX_SIZE_MB", default=40) * 1024 * 1024

# Celery ---------------------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE: dict = {
    # Files kept for a refused form's retry are deleted once ATTACHMENT_STAGED_MAX_AGE_HOURS old.
    "attachments-sweep-staged": {
        "task": "tickets.attachments_sweep_staged",
        "schedule": ATTACHMENT_STAGED_SWEEP_SECONDS,
    },
}

# Cache ----------------------------------------------------------------------------------------
# Redis is a cache here, never the only copy: while it is unreachable each process serves without
# it (core.cache.ResilientRedisCache). A call to a Redis that hangs waits at most
# CACHE_SOCKET_TIMEOUT seconds; after a failure the process leaves Redis alone CACHE_RETRY_AFTER
# seconds; meanwhile it rebuilds the service calendar from the database at most every
# CALENDAR_FALLBACK_SECONDS. While it answers, each process asks it whether the calendar changed
# at most every CALENDAR_REVALIDATE_SECONDS (a manager's save reaches the other processes within
# that; the process that saved sees it at once), not on every request.
CALENDAR_REVALIDATE_SECONDS = env.float("CALENDAR_REVALIDATE_SECONDS", default=1.0)
CACHE_SOCKET_TIMEOUT = env.float("CACHE_SOCKET_TIMEOUT", default=0.5)
CACHE_RETRY_AFTER = env.float("CACHE_RETRY_AFTER", default=2.0)
CALENDAR_FALLBACK_SECONDS = env.float("CALENDAR_FALLBACK_SECONDS", default=30.0)
CACHES = {
    "default": (
        {
            "BACKEND": "core.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "socket_connect_timeout": CACHE_SOCKET_TIMEOUT,
                "socket_timeout": CACHE_SOCKET_TIMEOUT,
                "RETRY_AFTER": CACHE_RETRY_AFTER,
            },
        }
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Service calendar (schedule app) ----------------------------------------------------------------
HOLIDAYS_COUNTRY = env("HOLIDAYS_COUNTRY", default="IT")
HOLIDAYS_SUBDIVISION = env("HOLIDAYS_SUBDIVISION", default=None)
SERVICE_TIME_ZONE = env("SERVICE_TIME_ZONE", default="Europe/Rome")
# Whether "outside service hours" closes ticket creation and replies like a holiday does.
SERVICE_GATE_OUTSIDE_HOURS = env.bool("SERVICE_GATE_OUTSIDE_HOURS", default=True)
# National holidays are announced by a notice this many days ahead.
SERVICE_HOLIDAY_NOTICE_DAYS = env.int("SERVICE_HOLIDAY_NOTICE_DAYS", default=14)
# The home page lists holidays and closures over this many days.
SERVICE_UPCOMING_DAYS = env.int("SERVICE_UPCOMING_DAYS", default=90)
# Advance notice the terms (§4) promise for maintenance; shorter needs the "urgent" flag.
SERVICE_MAINTENANCE_NOTICE_HOURS = env.int("SERVICE_MAINTENANCE_NOTICE_HOURS", default=24)
# Paths that still answer during maintenance: staff's admin, probes, assets, the public feeds
# (the Databank shows the maintenance notice from the feed precisely then).
SERVICE_MAINTENANCE_OPEN_PATHS = env.list(
    "SERVICE_MAINTENANCE_OPEN_PATHS",
    default=["/admin/", "/health/", "/static/", "/schedule/feeds/"],
)
# How long browsers, proxies and calendar clients may keep the public feeds (seconds).
SERVICE_FEED_MAX_AGE = env.int("SERVICE_FEED_MAX_AGE", default=300)

# Notifications (notifications app) ----------------------------------------------------------------
# Every public ticket update writes an outbox row (notifications.Notification) in its transaction;
# Celery sends it after commit. The broker is only a wake-up call: the sweeper below enqueues again
# whatever is still pending (Redis was down, a worker died), and the send task is idempotent.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
# Redis redelivers a message not acknowledged within this many seconds (acks_late): keep it well
# above the longest retry back-off, which the notifications.E001 system check enforces. Messages
# a dead worker held come back sooner through the sweeper (below), not through this timeout.
# A Redis that hangs must not hold a request's hand-over (or the worker) forever: kombu waits
# forever on a dead connection without socket timeouts (its BRPOP polls every second).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
}
# Beat exactly once (core.beat, on RedBeat): any number of `celery beat` may run, only the one
# holding a lock in Redis sends; the schedule and each task's last run live in Redis too, so
# another beat takes over within BEAT_LOCK_TIMEOUT seconds of the holder's death, on time.
BEAT_LOCK_TIMEOUT = env.int("BEAT_LOCK_TIMEOUT", default=30)
CELERY_BEAT_SCHEDULER = "core.beat:ExactlyOnceScheduler"
CELERY_REDBEAT_REDIS_URL = REDIS_URL or CELERY_BROKER_URL
CELERY_REDBEAT_KEY_PREFIX = "portal:beat"
CELERY_REDBEAT_LOCK_TIMEOUT = BEAT_LOCK_TIMEOUT
CELERY_REDBEAT_REDIS_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 5}
# The holder renews the lock on each tick, and a standby tries for it as often.
CELERY_BEAT_MAX_LOOP_INTERVAL = max(1, BEAT_LOCK_TIMEOUT // 5)
# Temporary SMTP failures (4xx, connection errors): exponential back-off, then give up.
NOTIFICATIONS_RETRY_BACKOFF = env.float("NOTIFICATIONS_RETRY_BACKOFF", default=30.0)
NOTIFICATIONS_RETRY_BACKOFF_MAX = env.float("NOTIFICATIONS_RETRY_BACKOFF_MAX", default=900.0)
NOTIFICATIONS_MAX_ATTEMPTS = env.int("NOTIFICATIONS_MAX_ATTEMPTS", default=10)
# The sweeper (Celery beat, every INTERVAL seconds) enqueues again the pending rows nobody is
# trusted with any longer (Notification.leased_until): the broker gets GRACE seconds after a
# hand-over (a message still queued behind a backlog is then enqueued twice: the send task skips
# what is sent); a worker gets CLAIM_GRACE seconds, prolonged as long as it holds the row's lock
# while sending, so a message a dead worker held goes out again within CLAIM_GRACE + INTERVAL;
# a row whose hand-over failed (Redis down) is due at once, at the first sweep once it is back.
NOTIFICATIONS_SWEEP_INTERVAL = env.float("NOTIFICATIONS_SWEEP_INTERVAL", default=15.0)
NOTIFICATIONS_SWEEP_GRACE = env.float("NOTIFICATIONS_SWEEP_GRACE", default=60.0)
NOTIFICATIONS_CLAIM_GRACE = env.float("NOTIFICATIONS_CLAIM_GRACE", default=10.0)
NOTIFICATIONS_SWEEP_BATCH = env.int("NOTIFICATIONS_SWEEP_BATCH", default=1000)
# Publishing after commit must not hold a request long when Redis is down: a few quick tries,
# then the process leaves the broker alone this many seconds (the sweeper sends those rows).
NOTIFICATIONS_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
NOTIFICATIONS_PUBLISH_PAUSE = env.float("NOTIFICATIONS_PUBLISH_PAUSE", default=10.0)
CELERY_BEAT_SCHEDULE["notifications-sweep"] = {
    "task": "notifications.tasks.notifications_sweep_task",
    "schedule": NOTIFICATIONS_SWEEP_INTERVAL,
}

# Operators, managers and remote assistance --------------------------------------------------------
TEAMVIEWER_DOWNLOAD_URL = env(
    "TEAMVIEWER_DOWNLOAD_URL", default="https://databank.example.com/software/teamviewer"
)
# Fernet keys (comma-separated, newest first: it encrypts, the others still decrypt) for the
# customers' TeamViewer passwords. Dedicated keys, never SECRET_KEY; local and test settings
# derive a fixed development key, production has no default.
REMOTE_ACCESS_KEYS = [key for key in env.list("REMOTE_ACCESS_KEYS", default=[]) if key.strip()]
# A password older than this is refused on decryption and wiped by the sweeper below.
REMOTE_ACCESS_TTL_MINUTES = env.int("REMOTE_ACCESS_TTL_MINUTES", default=60)
if INBOUND_IMAP_URL:
    CELERY_BEAT_SCHEDULE["inbound-mail-fetch"] = {
        "task": "tickets.inbound_mail_fetch",
        "schedule": INBOUND_IMAP_POLL_SECONDS,
    }
CELERY_BEAT_SCHEDULE["remote-access-erase-expired"] = {
    "task": "tickets.remote_access_erase_expired",
    "schedule": env.int("REMOTE_ACCESS_SWEEP_SECONDS", default=60),
}
# Service targets (tickets.targets): a ticket is "due soon" (and its operator warned, once,
# during service hours) when this much service time is left; the beat task that keeps due instants
# true to the calendar, records misses and warns runs every SERVICE_TARGET_CHECK_SECONDS.
SERVICE_TARGET_DUE_SOON_MINUTES = env.int("SERVICE_TARGET_DUE_SOON_MINUTES", default=60)
SERVICE_TARGET_CHECK_SECONDS = env.int("SERVICE_TARGET_CHECK_SECONDS", default=60)
SERVICE_TARGET_WARNINGS_PER_RUN = env.int("SERVICE_TARGET_WARNINGS_PER_RUN", default=200)
CELERY_BEAT_SCHEDULE["service-targets-check"] = {
    "task": "tickets.service_targets_check",
    "schedule": SERVICE_TARGET_CHECK_SECONDS,
}
# Personal data (§11): a workshop's archive can be downloaded for PERSONAL_DATA_EXPORT_HOURS, then
# the beat's sweep (every PERSONAL_DATA_EXPORT_SWEEP_SECONDS) deletes it.
PERSONAL_DATA_EXPORT_HOURS = env.int("PERSONAL_DATA_EXPORT_HOURS", default=48)
PERSONAL_DATA_EXPORT_SWEEP_SECONDS = env.int("PERSONAL_DATA_EXPORT_SWEEP_SECONDS", default=3600)
CELERY_BEAT_SCHEDULE["personal-data-exports-sweep"] = {
    "task": "tickets.personal_data_exports_sweep",
    "schedule": PERSONAL_DATA_EXPORT_SWEEP_SECONDS,
}
# Workshops as teams: the owner of a customer code invites colleagues; an invitation's link works
# for WORKSHOP_INVITATION_DAYS, and a workshop has at most WORKSHOP_MEMBERS_MAX members besides
# its owner (and as many invitations waiting).
WORKSHOP_INVITATION_DAYS = env.int("WORKSHOP_INVITATION_DAYS", default=7)
WORKSHOP_MEMBERS_MAX = env.int("WORKSHOP_MEMBERS_MAX", default=20)
# The managers' dashboard: weeks of arrivals, and the window and sample of first responses.
DASHBOARD_WEEKS = env.int("DASHBOARD_WEEKS", default=12)
DASHBOARD_RESPONSE_DAYS = env.int("DASHBOARD_RESPONSE_DAYS", default=90)
DASHBOARD_RESPONSE_SAMPLE = env.int("DASHBOARD_RESPONSE_SAMPLE", default=2000)

# Audit trail (django-auditlog) ------------------------------------------------------------------
# Who changed what, when, from which address (customers.middleware gives auditlog the address
# customers.ip reads behind the proxies), read by managers in the admin (core.admin). Secrets are
# never listed: the remote-access request (TeamViewer tokens) is not tracked, only its reveals.
AUDIT_STAMPS = ["created_at", "updated_at"]
AUDITLOG_INCLUDE_TRACKING_MODELS = (
    {
        "model": "customers.Customer",
        "include_fields": ["is_suspended", "suspension_reason", "suspended_at"],
    },
    {"model": "products.Product", "include_fields": ["latest_version"]},
    # Neither time stamps nor reverse relations (the tickets accepting a version, a closure's
    # notice) are changes.
    {"model": "core.TermsVersion", "exclude_fields": [*AUDIT_STAMPS, "tickets"]},
    {"model": "schedule.ServiceHours", "exclude_fields": AUDIT_STAMPS},
    {"model": "schedule.Closure", "exclude_fields": [*AUDIT_STAMPS, "notice"]},
    {"model": "schedule.Maintenance", "exclude_fields": [*AUDIT_STAMPS, "notice"]},
    {"model": "schedule.Notice", "exclude_fields": AUDIT_STAMPS},
    {"model": "tickets.RemoteAccessReveal", "include_fields": ["request", "operator"]},
    # Who may read a workshop's tickets: its members, what they see, their removal.
    {"model": "customers.Member", "include_fields": ["scope", "removed_at"]},
    # The promises the queue and the dashboard count against.
    {"model": "tickets.ServiceTarget", "exclude_fields": AUDIT_STAMPS},
    # Staff's two-factor devices: set up, confirmed, removed; never their keys or codes.
    {"model": "otp_totp.TOTPDevice", "include_fields": ["user", "name", "confirmed"]},
    {"model": "otp_static.StaticDevice", "include_fields": ["user", "name", "confirmed"]},
)
# Fixtures and loaddata are not somebody's action.
AUDITLOG_DISABLE_ON_RAW_SAVE = True
AUDITLOG_USE_FK_STRING_REPRESENTATION = True

# Security -------------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
