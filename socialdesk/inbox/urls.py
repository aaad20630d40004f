"""The inbox pages, included under ``w/<slug>/inbox/``."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("list/", views.inbox_list, name="inbox_list"),
    path("<int:conversation_id>/", views.conversation_detail, name="inbox_conversation"),
    path("<int:conversation_id>/reply/", views.conversation_reply, name="inbox_reply"),
    path("<int:conversation_id>/assign/", views.conversation_assign, name="inbox_assign"),
    path("<int:conversation_id>/status/", views.conversation_status, name="inbox_status"),
    path("<int:conversation_id>/notes/", views.conversation_note, name="inbox_note"),
    path("<int:conversation_id>/contact/", views.contact_notes, name="inbox_contact_notes"),
    path("<int:conversation_id>/presence/", views.conversation_presence, name="inbox_presence"),
    path(
        "<int:conversation_id>/approvals/<int:approval_id>/approve/",
        views.reply_approve,
        name="inbox_reply_approve",
    ),
    path(
        "<int:conversation_id>/approvals/<int:approval_id>/reject/",
        views.reply_reject,
        name="inbox_reply_reject",
    ),
    path("<int:conversation_id>/contact/data/", views.contact_data, name="inbox_contact_data"),
    path("<int:conversation_id>/contact/erase/", views.contact_erase, name="inbox_contact_erase"),
]
