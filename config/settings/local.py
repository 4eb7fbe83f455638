"""Embedded default: no service needed (SQLite, eager Celery, e-mail to files in var/mail/)."""

import base64
import hashlib

from .base import *
from .base import BASE_DIR, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="local-only-insecure-key-change-me-0123456789abcdef")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}

# Serve static files straight from the app folders; no collectstatic needed.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# Remote assistance: a fixed development key unless REMOTE_ACCESS_KEYS is set.
REMOTE_ACCESS_KEYS = REMOTE_ACCESS_KEYS or [
    base64.urlsafe_b64encode(hashlib.sha256(b"local-remote-access-only").digest()).decode()
]

# E-mails are written to var/mail/, one file per message, rather than printed on the console,
# where the demo's e-mails buried the log-ins `make run` prints. EMAIL_URL chooses another way
# (consolemail:// prints them again).
if not env("EMAIL_URL", default="").strip():
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = BASE_DIR / "var" / "mail"

# Demo switch: the service takes tickets and replies at any hour (maintenance still closes it),
# so a newcomer can try every step outside the service hours. Read here only: the production
# settings never define it, and the gate honours it with DEBUG on only (schedule.gate).
SERVICE_DEMO_ALWAYS_OPEN = env.bool("DEMO_SERVICE_ALWAYS_OPEN", default=False)

# The in-memory broker of eager Celery has no host name, which kombu warns about at every start.
LOGGING["loggers"]["kombu.connection"] = {"level": "ERROR"}

# Staff log in with a password alone unless STAFF_REQUIRE_2FA says otherwise (production: on).
STAFF_REQUIRE_2FA = env.bool("STAFF_REQUIRE_2FA", default=False)
