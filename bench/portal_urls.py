"""The portal's URLs (config.urls), /bench/trivial/ (the floor's 20 KB page) and /bench/layout/.

/bench/layout/ is the portal's layout alone (base.html: header, notices, footer) for the logged-in
customer: the least a customer's page costs, session and user included, before its own content.
"""

from django.shortcuts import render
from django.urls import include, path

from bench.floor.views import twenty_kb
from config.urls import handler400  # noqa: F401 - the portal's own page for refused requests


def layout(request):
    return render(request, "base.html")


urlpatterns = [
    path("bench/trivial/", twenty_kb, name="bench-trivial"),
    path("bench/layout/", layout, name="bench-layout"),
    path("", include("config.urls")),
]
