"""REST API v1: one NinjaAPI that mounts each app's routers, one router per topic.

Every operation authenticates with a bearer token (``Authorization: Bearer sd_...``) or the
web UI's session (with CSRF on unsafe methods), declares its permission once with
``@requires`` (checked, and documented as ``x-permission``) and answers errors as RFC 9457
problem details; see ``socialdesk.api_support``.
"""

from ninja import NinjaAPI

from socialdesk.analytics import (
    best_time_api,
    experiments_api,
    links_api,
    metrics_api,
    reading_api,
    reports_api,
)
from socialdesk.api_support import API_AUTH, ObjectParser, install_problem_handlers
from socialdesk.content import bulk_api, media_api, posts_api, taxonomy_api
from socialdesk.inbox import answering_api
from socialdesk.inbox import api as inbox_api
from socialdesk.inbox import rules_api as inbox_rules_api
from socialdesk.inbox import service_api as inbox_service_api
from socialdesk.listening import alerts_api as listening_alerts_api
from socialdesk.listening import api as listening_api
from socialdesk.networks import api as networks_api
from socialdesk.notifications import api as notifications_api
from socialdesk.page import api as page_api
from socialdesk.publishing import api as publishing_api
from socialdesk.publishing import crisis_api, queue_api
from socialdesk.review import api as review_api
from socialdesk.workflow import (
    audit_api,
    health_api,
    post_workflow_api,
    settings_api,
    stages_api,
)
from socialdesk.workspaces import api as workspaces_api

api = NinjaAPI(
    title="Socialdesk API",
    version="1",
    description="Plan, create, approve, schedule and publish social media posts.",
    urls_namespace="api-v1",
    auth=API_AUTH,
    parser=ObjectParser(),
)
install_problem_handlers(api)

# The order is the order of the OpenAPI document.
ROUTERS = [
    workspaces_api.router,
    networks_api.router,
    page_api.router,
    posts_api.router,
    media_api.router,
    taxonomy_api.router,
    bulk_api.router,
    publishing_api.router,
    queue_api.router,
    crisis_api.router,
    notifications_api.router,
    review_api.router,
    stages_api.router,
    post_workflow_api.router,
    settings_api.router,
    audit_api.router,
    health_api.router,
    inbox_api.router,
    answering_api.router,
    inbox_service_api.router,
    inbox_rules_api.router,
    metrics_api.router,
    links_api.router,
    best_time_api.router,
    experiments_api.router,
    reading_api.router,
    reports_api.router,
    listening_api.router,
    listening_alerts_api.router,
]
for router in ROUTERS:
    api.add_router("", router)
