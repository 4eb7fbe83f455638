from django.contrib.auth import views as auth_views
from django.urls import path

from customers import views

app_name = "customers"

urlpatterns = [
    path("login/", views.CustomerLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(
            template_name="customers/password_reset_done.html"
        ),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="customers/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
    path("profile/", views.ProfileView.as_view(), name="profile"),
    path("team/", views.TeamView.as_view(), name="team"),
    path("team/members/<int:pk>/", views.TeamMemberView.as_view(), name="team-member"),
    path("team/invitations/<int:pk>/", views.TeamInvitationView.as_view(), name="team-invitation"),
    # The link of an invitation's e-mail: no log-in, its signed token names the invitation.
    path("invitation/<str:token>/", views.InvitationAcceptView.as_view(), name="invitation"),
    path("units/", views.UnitListView.as_view(), name="units"),
    path(
        "units/<int:pk>/report-lost/", views.UnitReportLostView.as_view(), name="unit-report-lost"
    ),
]
