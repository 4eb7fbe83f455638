"""Production: PostgreSQL, Redis, SMTP; no default for anything secret or host-specific.

Every required variable must be set *and* non-empty: an unset `${VAR}` in compose or an empty
`.env` line gives an empty string, which would otherwise pass `check --deploy` and then fail
every request. The process refuses to start instead, naming the variable.
"""

from django.core.exceptions import ImproperlyConfigured

from .base import *
from .base import DATABASE_TRANSACTION_POOLING, env, transaction_pooling


def required(name: str) -> str:
    """Return the variable's value, or refuse to start when it is unset or blank."""
    value = env.str(name, default="").strip()
    if not value:
        raise ImproperlyConfigured(
            f"Set the {name} environment variable: production settings have no default for it "
            "(see .env.example and the README's Configuration section)."
        )
    return value


def required_list(name: str) -> list[str]:
    """Return the comma-separated items of a required variable, refusing an empty list."""
    items = [item.strip() for item in required(name).split(",") if item.strip()]
    if not items:
        raise ImproperlyConfigured(f"Set the {name} environment variable to one or more values.")
    return items


DEBUG = False
SECRET_KEY = required("DJANGO_SECRET_KEY")
if len(SECRET_KEY) < 50:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is too short: use at least 50 random characters (`make env` writes one)."
    )
ALLOWED_HOSTS = required_list("DJANGO_ALLOWED_HOSTS")
DATABASES = {"default": env.db_url_config(required("DATABASE_URL"))}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASE_TRANSACTION_POOLING:
    transaction_pooling(DATABASES["default"])
REDIS_URL = required("REDIS_URL")
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="") or REDIS_URL
CELERY_TASK_ALWAYS_EAGER = False
# CACHES: base.py builds it from REDIS_URL (Redis, skipped while unreachable: core.cache).
EMAIL_CONFIG = env.email_url_config(required("EMAIL_URL"))
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = required("DEFAULT_FROM_EMAIL")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
PORTAL_BASE_URL = required("PORTAL_BASE_URL")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# The shipped stack runs gunicorn behind one nginx (docker-compose.yml).
AXES_IPWARE_PROXY_COUNT = env.int("AXES_PROXY_COUNT", default=1)

# Operators and managers confirm their log-in with a second factor (django-otp).
STAFF_REQUIRE_2FA = env.bool("STAFF_REQUIRE_2FA", default=True)

# Remote assistance: the customers' TeamViewer credentials need their own keys; no default.
REMOTE_ACCESS_KEYS = required_list("REMOTE_ACCESS_KEYS")
