"""REST API v1: one NinjaAPI that mounts each app's router.

Every operation authenticates with a bearer token (``Authorization: Bearer sd_...``) or the
web UI's session (with CSRF on unsafe methods), declares its permission as ``x-permission``
and answers errors as RFC 9457 problem details; see ``socialdesk.api_support``.
"""

from ninja import NinjaAPI

from socialdesk.api_support import API_AUTH, install_problem_handlers
from socialdesk.content.api import router as content_router
from socialdesk.content.bulk_api import router as bulk_router
from socialdesk.networks.api import router as networks_router
from socialdesk.notifications.api import router as notifications_router
from socialdesk.publishing.api import router as publishing_router
from socialdesk.publishing.queue_api import router as queues_router
from socialdesk.review.api import router as review_router
from socialdesk.workflow.api import router as workflow_router
from socialdesk.workspaces.api import router as workspaces_router

api = NinjaAPI(
    title="Socialdesk API",
    version="1",
    description="Plan, create, approve, schedule and publish social media posts.",
    urls_namespace="api-v1",
    auth=API_AUTH,
)
install_problem_handlers(api)

api.add_router("", workspaces_router)
api.add_router("", networks_router)
api.add_router("", content_router)
api.add_router("", bulk_router)
api.add_router("", publishing_router)
api.add_router("", queues_router)
api.add_router("", notifications_router)
api.add_router("", review_router)
api.add_router("", workflow_router)
