"""The site's URLconf: the API, then every page (``socialdesk.site_urls``)."""

from django.urls import path

from socialdesk import site_urls
from socialdesk.api import api

urlpatterns = [path("api/v1/", api.urls), *site_urls.urlpatterns]
