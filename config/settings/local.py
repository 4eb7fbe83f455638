"""Embedded default: no service needed (SQLite, eager Celery, e-mail to the console)."""

import base64
import hashlib

from .base import *
from .base import env

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
