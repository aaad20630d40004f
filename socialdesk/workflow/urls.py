from django.urls import path

from . import views

urlpatterns = [
    path("", views.board, name="workflow_board"),
    path("my-work/", views.my_work, name="my_work"),
    path("health/", views.workflow_health, name="workflow_health"),
    path("audit/", views.audit_log, name="audit_log"),
    path("posts/<int:post_id>/", views.post_workflow, name="workflow_post"),
    path("posts/<int:post_id>/panel/", views.panel, name="workflow_panel"),
    path("posts/<int:post_id>/move/", views.move, name="workflow_move"),
    path("posts/<int:post_id>/tick/", views.tick, name="workflow_tick"),
    path("posts/<int:post_id>/decide/", views.decide_view, name="workflow_decide"),
    path("posts/<int:post_id>/assign/", views.assign, name="workflow_assign"),
]
