"""Review pages; mounted at the site root by ``web.urls``."""

from django.urls import path

from . import views

urlpatterns = [
    path("w/<slug:slug>/posts/<int:post_id>/versions/", views.post_versions, name="post_versions"),
    path("w/<slug:slug>/posts/<int:post_id>/comments/", views.post_comments, name="post_comments"),
    path(
        "w/<slug:slug>/comments/<int:comment_id>/resolve/",
        views.comment_resolve,
        name="comment_resolve",
    ),
    path("w/<slug:slug>/review-links/", views.review_links, name="review_links"),
    path(
        "w/<slug:slug>/review-links/<int:link_id>/revoke/",
        views.review_link_revoke,
        name="review_link_revoke",
    ),
    # The client's pages: no account; the token is the only key (see review.links).
    path("review/<str:token>/", views.review_client, name="review_client"),
    path(
        "review/<str:token>/posts/<int:post_id>/decide/",
        views.review_client_decide,
        name="review_client_decide",
    ),
    path(
        "review/<str:token>/posts/<int:post_id>/comment/",
        views.review_client_comment,
        name="review_client_comment",
    ),
]
