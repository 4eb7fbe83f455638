"""WSGI entry point of the bare Django floor (bench/side_by_side.py starts it with gunicorn)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.floor.settings")
application = get_wsgi_application()
