"""The project's routes plus a stand-in crisis page named ``crisis`` (built by another part),
to check that an alert links to it when it exists."""

from django.http import HttpResponse
from django.urls import include, path


def crisis(request, slug):
    return HttpResponse("crisis")


urlpatterns = [
    path("w/<slug:slug>/crisis/", crisis, name="crisis"),
    path("", include("socialdesk.urls")),
]
