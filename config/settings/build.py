"""Build time (the image's collectstatic and compilemessages): no secret, no service.

Production settings refuse to load without their secrets, and an image must not contain any, so
the build steps run on this module: it reads nothing but STATIC_ROOT and stores static files
exactly as production serves them (hashed names, compressed, with the manifest).
"""

from .base import *

DEBUG = False
# Nothing at build time signs or serves anything; production reads its real key at start.
SECRET_KEY = "build-time-only-never-used-to-sign-anything"  # noqa: S105
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
