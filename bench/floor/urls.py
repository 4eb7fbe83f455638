from django.urls import path

from bench.floor.views import twenty_kb

# The same path as the portal's trivial view (bench/portal_urls.py): the same request line.
urlpatterns = [path("bench/trivial/", twenty_kb)]
