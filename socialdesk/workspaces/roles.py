"""Who may do what: the one permission table every view, API operation and service checks.

Read it as "this permission is granted to these roles". The README shows the same table
(``socialdesk roles --markdown`` prints it). A permission name is ``<area>.<verb>``.
"""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    MANAGER = "manager", "Manager"
    CREATOR = "creator", "Creator"
    APPROVER = "approver", "Approver"
    CLIENT = "client", "Client"
    ANALYST = "analyst", "Analyst"
    COMMUNITY_MANAGER = "community_manager", "Community manager"


ROLE_DESCRIPTIONS = {
    Role.OWNER: "Everything, including workspace settings, billing-like decisions and deletion.",
    Role.MANAGER: "Runs the team: channels, members, schedules and everybody's posts.",
    Role.CREATOR: "Writes posts and uploads media; schedules what the workflow allows.",
    Role.APPROVER: "Reviews and approves posts; reads everything it approves.",
    Role.CLIENT: "The brand's client: reads the plan and gives feedback.",
    Role.ANALYST: "Reads posts, deliveries and numbers; changes nothing.",
    Role.COMMUNITY_MANAGER: "Reads and answers the inbox and manages saved replies; nothing else.",
}

OWNER, MANAGER, CREATOR, APPROVER, CLIENT, ANALYST, COMMUNITY_MANAGER = (
    Role.OWNER,
    Role.MANAGER,
    Role.CREATOR,
    Role.APPROVER,
    Role.CLIENT,
    Role.ANALYST,
    Role.COMMUNITY_MANAGER,
)
EVERYONE = frozenset(Role)

PERMISSIONS: dict[str, frozenset[Role]] = {
    "workspace.view": EVERYONE,
    "workspace.create": EVERYONE,  # any signed-in user may start a workspace of their own
    "workspace.update": frozenset({OWNER}),
    "workspace.delete": frozenset({OWNER}),
    "members.view": frozenset({OWNER, MANAGER, CREATOR, APPROVER, ANALYST}),
    "members.manage": frozenset({OWNER, MANAGER}),
    # A person's data on request (socialdesk.personal_data): export it, or erase it.
    "members.export": frozenset({OWNER}),
    "members.erase": frozenset({OWNER}),
    "tokens.manage": frozenset(
        {OWNER, MANAGER, CREATOR, APPROVER, ANALYST}
    ),  # one's own API tokens
    "channels.view": EVERYONE,
    "channels.manage": frozenset({OWNER, MANAGER}),
    "posts.view": EVERYONE,
    "posts.create": frozenset({OWNER, MANAGER, CREATOR}),
    "posts.edit": frozenset({OWNER, MANAGER, CREATOR}),
    "posts.delete": frozenset({OWNER, MANAGER}),
    "deliveries.view": EVERYONE,
    "deliveries.schedule": frozenset({OWNER, MANAGER, CREATOR}),
    "media.view": frozenset({OWNER, MANAGER, CREATOR, APPROVER, ANALYST}),
    "media.upload": frozenset({OWNER, MANAGER, CREATOR}),
    "media.delete": frozenset({OWNER, MANAGER}),
    "taxonomy.view": EVERYONE,  # labels, pillars, campaigns
    "taxonomy.manage": frozenset({OWNER, MANAGER}),
    "analytics.view": frozenset({OWNER, MANAGER, ANALYST}),
    # Short links on or off, the conversion window and the shop's conversion secret.
    "analytics.manage": frozenset({OWNER, MANAGER}),
    # Reports (issue 14 item 7): a client reads only those shared with clients
    # (analytics.reports.visible_reports); owners and managers make, change and send them.
    "reports.view": frozenset({OWNER, MANAGER, ANALYST, CLIENT}),
    "reports.manage": frozenset({OWNER, MANAGER}),
    # Notifications: everybody reads and marks only their own, and sets their own email.
    "notifications.view": EVERYONE,
    "notifications.update": EVERYONE,
    "webhooks.view": frozenset({OWNER, MANAGER}),
    "webhooks.manage": frozenset({OWNER, MANAGER}),
    # Review: a client member sees and writes only external comments (review.services).
    "comments.view": EVERYONE,
    "comments.create": frozenset({OWNER, MANAGER, CREATOR, APPROVER, CLIENT}),
    "comments.resolve": frozenset({OWNER, MANAGER, CREATOR, APPROVER}),
    "review_links.view": frozenset({OWNER, MANAGER, APPROVER}),
    "review_links.manage": frozenset({OWNER, MANAGER, APPROVER}),
    # Workflow: stages, checklists, approvals, audit log (socialdesk.workflow).
    "workflow.view": EVERYONE,
    "workflow.move": frozenset({OWNER, MANAGER, CREATOR}),
    "workflow.override": frozenset({OWNER, MANAGER}),
    "workflow.manage": frozenset({OWNER, MANAGER}),
    "approvals.decide": frozenset({OWNER, MANAGER, APPROVER, CLIENT}),
    "audit.view": frozenset({OWNER, MANAGER}),
    # Inbox (socialdesk.inbox): read conversations and contacts; answer, like, hide, write
    # notes, assign oneself and resolve; manage assignment of others, rules and inbox settings;
    # saved replies; approve or reject replies that need approval.
    "inbox.view": frozenset({OWNER, MANAGER, CREATOR, ANALYST, COMMUNITY_MANAGER}),
    "inbox.reply": frozenset({OWNER, MANAGER, CREATOR, COMMUNITY_MANAGER}),
    "inbox.manage": frozenset({OWNER, MANAGER}),
    "inbox.saved_replies": frozenset({OWNER, MANAGER, COMMUNITY_MANAGER}),
    "inbox.approve": frozenset({OWNER, MANAGER}),
    # Inbox service (issue 13): service levels, rules and FAQ questions; the inbox report;
    # a contact's personal data (socialdesk.inbox.retention).
    "inbox_settings.view": frozenset({OWNER, MANAGER}),
    "inbox_settings.manage": frozenset({OWNER, MANAGER}),
    "inbox_reports.view": frozenset({OWNER, MANAGER, ANALYST}),
    "contacts.export": frozenset({OWNER, MANAGER}),
    "contacts.erase": frozenset({OWNER}),
    # Listening (socialdesk.listening): read topics, mentions and try queries; change topics,
    # their queries and sources.
    "listening.view": frozenset({OWNER, MANAGER, ANALYST, COMMUNITY_MANAGER}),
    "listening.manage": frozenset({OWNER, MANAGER}),
    # The crisis switch (socialdesk.publishing.crisis): everybody sees whether it is on (the
    # banner on every page); only the leads turn it on or off and decide about held posts.
    "crisis.view": EVERYONE,
    "crisis.manage": frozenset({OWNER, MANAGER}),
    # Turn a mention into an inbox conversation, a content idea or a lead (listening.actions).
    "listening.act": frozenset({OWNER, MANAGER, COMMUNITY_MANAGER}),
}

# Permissions a token with only the "read" scope keeps.
READ_PERMISSIONS = frozenset(name for name in PERMISSIONS if name.endswith(".view"))


def role_can(role: str, permission: str) -> bool:
    """True when ``role`` holds ``permission``; an unknown permission is a programming error."""
    try:
        allowed = PERMISSIONS[permission]
    except KeyError:
        raise KeyError(f"No rule for permission {permission!r}: add it to PERMISSIONS.") from None
    return role in allowed


def permissions_markdown() -> str:
    """The permission table as Markdown, for the README."""
    roles = list(Role)
    lines = [
        "| permission | " + " | ".join(r.label for r in roles) + " |",
        "| --- |" + " :-: |" * len(roles),
    ]
    for name, allowed in PERMISSIONS.items():
        marks = " | ".join("✓" if r in allowed else "·" for r in roles)
        lines.append(f"| `{name}` | {marks} |")
    return "\n".join(lines)
