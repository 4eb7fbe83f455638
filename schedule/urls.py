from django.urls import path

from schedule import views

app_name = "schedule"

urlpatterns = [
    path("feeds/calendar.ics", views.calendar_feed, name="calendar-feed"),
    path("feeds/notices.json", views.notices_feed, name="notices-feed"),
]
