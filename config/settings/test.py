"""Test settings: fast hashing, in-memory e-mail, eager Celery; DATABASE_URL picks the engine."""

import base64
import hashlib

from core.storage import disk_storage_config

from .base import *
from .base import BASE_DIR, env

SECRET_KEY = "test-only-key-0123456789abcdefghijklmnopqrstuvwxyz"  # noqa: S105
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = "memory://"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Tests change the calendar from the test process and read it at once from the same one, but
# also behind its back (the ORM, another thread): ask the cache on every call.
CALENDAR_REVALIDATE_SECONDS = 0
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
PRIVATE_MEDIA_ROOT = env.path("TEST_PRIVATE_MEDIA_ROOT", default=BASE_DIR / "var" / "test-private")
# Disk, whatever the environment names: the object-storage tests switch to a bucket of their own.
STORAGES["default"] = disk_storage_config(PRIVATE_MEDIA_ROOT)
LANGUAGE_CODE = "en"
AXES_ENABLED = True

# Serve static files straight from the app folders; no collectstatic needed.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# Remote assistance: a fixed development key unless REMOTE_ACCESS_KEYS is set.
REMOTE_ACCESS_KEYS = REMOTE_ACCESS_KEYS or [
    base64.urlsafe_b64encode(hashlib.sha256(b"test-remote-access-only").digest()).decode()
]

# Staff log in with a password alone (force_login); the two-factor tests turn it on.
STAFF_REQUIRE_2FA = False
