from django.urls import path

from . import views

urlpatterns = [
    path("", views.board, name="workflow_board"),
    path("my-work/", views.my_work, name="my_work"),
    path("health/", views.workflow_health, name="workflow_health"),
    path("audit/", views.audit_log, name="audit_log"),
    path("settings/", views.workflow_settings, name="workflow_settings"),
    path("settings/stages/<int:stage_id>/", views.stage_edit, name="workflow_stage_edit"),
    path("settings/stages/<int:stage_id>/move/", views.stage_move, name="workflow_stage_move"),
    path(
        "settings/stages/<int:stage_id>/delete/", views.stage_delete, name="workflow_stage_delete"
    ),
    path("posts/<int:post_id>/", views.post_workflow, name="workflow_post"),
    path("posts/<int:post_id>/panel/", views.panel, name="workflow_panel"),
    path("posts/<int:post_id>/move/", views.move, name="workflow_move"),
    path("posts/<int:post_id>/tick/", views.tick, name="workflow_tick"),
    path("posts/<int:post_id>/decide/", views.decide_view, name="workflow_decide"),
    path("posts/<int:post_id>/assign/", views.assign, name="workflow_assign"),
    path("posts/<int:post_id>/submit/", views.submit_view, name="workflow_submit"),
    path("checks/", views.live_checks_view, name="workflow_live_checks"),
]
