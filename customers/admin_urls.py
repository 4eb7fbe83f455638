"""Staff's two-factor log-in pages, in the admin; mounted before admin.site.urls."""

from django.contrib import admin
from django.urls import path

from customers import views

app_name = "two_factor"

urlpatterns = [
    path(
        "two-factor/",
        admin.site.admin_view(views.StaffTwoFactorVerifyView.as_view()),
        name="verify",
    ),
    path(
        "two-factor/set-up/",
        admin.site.admin_view(views.StaffTwoFactorSetupView.as_view()),
        name="setup",
    ),
    path(
        "two-factor/recovery-codes/",
        admin.site.admin_view(views.StaffRecoveryCodesView.as_view()),
        name="recovery-codes",
    ),
]
