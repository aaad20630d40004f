from django.contrib.auth import views as auth_views
from django.urls import include, path

from socialdesk.content import views as content_views
from socialdesk.listening import alert_urls as listening_alert_urls
from socialdesk.networks import urls as networks_urls
from socialdesk.workspaces import account_views
from socialdesk.workspaces import views as workspace_views

from . import home, views

urlpatterns = [
    path("", views.home, name="home"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("workspaces/new/", views.workspace_create, name="workspace_create"),
    path("invitations/<str:token>/", views.accept_invitation, name="accept_invitation"),
    # Accounts: sign-in in two steps (password, then a code with two-factor sign-in on),
    # throttled; the rest are Django's auth views with our templates.
    path("accounts/login/", account_views.signin_password, name="login"),
    path("accounts/login/code/", account_views.signin_code, name="signin_code"),
    path("accounts/", account_views.account, name="account"),
    path("accounts/two-factor/", account_views.two_factor_setup, name="two_factor_setup"),
    path("accounts/two-factor/off/", account_views.two_factor_disable, name="two_factor_disable"),
    path(
        "accounts/two-factor/recovery-codes/",
        account_views.recovery_codes_renew,
        name="recovery_codes_renew",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password-reset/",
        views.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path(
        "accounts/password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(
            template_name="web/accounts/password_reset_done.html"
        ),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        account_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="web/accounts/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
    # One workspace's pages.
    path("w/<slug:slug>/", home.workspace_home, name="workspace"),
    path("w/<slug:slug>/posts/", content_views.post_list, name="post_list"),
    path("w/<slug:slug>/posts/new/", content_views.post_create, name="post_create"),
    path("w/<slug:slug>/posts/<int:post_id>/", content_views.post_edit, name="post_edit"),
    path(
        "w/<slug:slug>/posts/<int:post_id>/delete/",
        content_views.post_delete,
        name="post_delete",
    ),
    path("w/<slug:slug>/posts/bulk/", include("socialdesk.content.bulk_urls")),
    path("", include("socialdesk.web.ical_urls")),
    path("w/<slug:slug>/channels/", include("socialdesk.networks.urls")),
    path("channels/", include(networks_urls.callback_urlpatterns)),
    path("w/<slug:slug>/media/", include("socialdesk.content.media_urls")),
    path("w/<slug:slug>/calendar/", include("socialdesk.web.calendar")),
    path("w/<slug:slug>/crisis/", include("socialdesk.web.crisis")),
    path("w/<slug:slug>/analytics/", include("socialdesk.analytics.best_time_urls")),
    path("w/<slug:slug>/", include("socialdesk.notifications.urls")),
    path("w/<slug:slug>/workflow/", include("socialdesk.workflow.urls")),
    path("w/<slug:slug>/inbox/", include("socialdesk.inbox.urls")),
    path("w/<slug:slug>/analytics/", include("socialdesk.analytics.reading_urls")),
    path("w/<slug:slug>/inbox/", include("socialdesk.inbox.service_urls")),
    path("w/<slug:slug>/listening/alerts/", include("socialdesk.listening.alert_urls")),
    path("w/<slug:slug>/listening/", include(listening_alert_urls.action_urlpatterns)),
    path("w/<slug:slug>/listening/", include("socialdesk.listening.urls")),
    path("", include("socialdesk.review.urls")),
    path("w/<slug:slug>/composer/", include("socialdesk.content.urls")),
    path("w/<slug:slug>/members/", workspace_views.members, name="members"),
    path("w/<slug:slug>/members/invite/", workspace_views.member_invite, name="member_invite"),
    path(
        "w/<slug:slug>/members/<int:membership_id>/role/",
        workspace_views.member_role,
        name="member_role",
    ),
    path(
        "w/<slug:slug>/members/<int:membership_id>/remove/",
        workspace_views.member_remove,
        name="member_remove",
    ),
    path(
        "w/<slug:slug>/members/<int:membership_id>/data/",
        workspace_views.member_data,
        name="member_data",
    ),
    path(
        "w/<slug:slug>/members/<int:membership_id>/erase/",
        workspace_views.member_erase,
        name="member_erase",
    ),
    path(
        "w/<slug:slug>/invitations/<int:invitation_id>/revoke/",
        workspace_views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("w/<slug:slug>/settings/", workspace_views.workspace_settings, name="workspace_settings"),
    path("w/<slug:slug>/settings/tokens/", workspace_views.api_tokens, name="api_tokens"),
    path(
        "w/<slug:slug>/settings/tokens/<int:token_id>/revoke/",
        workspace_views.api_token_revoke,
        name="api_token_revoke",
    ),
]
