from django.urls import path

from tickets.portal import files, personal_data, views
from tickets.satisfaction import views as satisfaction

app_name = "tickets"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("tickets/", views.TicketListView.as_view(), name="list"),
    path("tickets/new/", views.TicketCreateView.as_view(), name="create"),
    path("tickets/<int:number>/", views.TicketDetailView.as_view(), name="detail"),
    path("tickets/<int:number>/reply/", views.TicketReplyView.as_view(), name="reply"),
    path("tickets/<int:number>/close/", views.TicketCloseView.as_view(), name="close"),
    path(
        "tickets/<int:number>/remote-access/",
        views.TicketRemoteAccessView.as_view(),
        name="remote-access",
    ),
    path("tickets/<int:number>/rating/", satisfaction.TicketRatingView.as_view(), name="rating"),
    # The signed link of a closing e-mail: no log-in, its token names the ticket and the answer.
    path(
        "satisfaction/<str:token>/", satisfaction.TicketRatingLinkView.as_view(), name="rating-link"
    ),
    path("files/<int:pk>/", files.AttachmentDownloadView.as_view(), name="attachment"),
    path(
        "files/<int:pk>/thumbnail/",
        files.AttachmentDownloadView.as_view(thumbnail=True),
        name="attachment-thumbnail",
    ),
    # Under /account/ with the other pages of the account (customers.urls), served from here:
    # the archive and the erasure read and change tickets (tickets.portal.personal_data).
    path("account/profile/data/", personal_data.PersonalDataView.as_view(), name="personal-data"),
    path(
        "account/profile/data/archive/",
        personal_data.PersonalDataExportRequestView.as_view(),
        name="personal-data-export",
    ),
    path(
        "account/profile/data/archive/status/",
        personal_data.PersonalDataExportStatusView.as_view(),
        name="personal-data-export-status",
    ),
    path(
        "account/profile/data/archive/<int:pk>/",
        personal_data.PersonalDataExportDownloadView.as_view(),
        name="personal-data-download",
    ),
    path(
        "account/profile/data/erasure/",
        personal_data.ErasureRequestView.as_view(),
        name="personal-data-erasure",
    ),
]
