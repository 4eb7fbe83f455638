from django.urls import path

from core import views

app_name = "core"

urlpatterns = [
    path("", views.terms_detail, name="terms"),
    path("<str:version>/", views.terms_detail, name="terms-version"),
]
