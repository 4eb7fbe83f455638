"""The portal's URLs (config.urls) and /bench/trivial/, the floor's 20 KB page."""

from django.urls import include, path

from bench.floor.views import twenty_kb
from config.urls import handler400  # noqa: F401 - the portal's own page for refused requests

urlpatterns = [
    path("bench/trivial/", twenty_kb, name="bench-trivial"),
    path("", include("config.urls")),
]
