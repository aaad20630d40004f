"""Team workflow: stages and their definition of done, a post's place in the workflow,
approval decisions, brand voice rules, and the audit log.

A post's workflow state lives here (``PostWorkflow``), linked one-to-one to ``content.Post``
and created lazily, so posts written before this app existed keep working.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from socialdesk.content.models import Campaign, Label, Post, PostVersion
from socialdesk.workspaces.models import Workspace, WorkspaceOwned
from socialdesk.workspaces.roles import Role


class Lane(models.TextChoices):
    FAST = "fast", "Fast lane"
    STRICT = "strict", "Strict lane"


class StageLanes(models.TextChoices):
    BOTH = "both", "Both lanes"
    STRICT = "strict", "Strict lane only"


class ApprovalRule(models.TextChoices):
    ALL = "all", "All approvers"
    ANY = "any", "Any approver"


class StageKind(models.TextChoices):
    WORK = "work", "Work"
    APPROVAL = "approval", "Approval"
    CLIENT_APPROVAL = "client_approval", "Client approval"


# Automatic checks a stage's definition of done may include (key → what it says when met).
CHECKS = {
    "text_present": "Text is written",
    "alt_text": "Every image has alt text",
    "utm": "Every link carries UTM parameters",
    "network_rules": "Each channel's network accepts the content",
    "brand_voice": "Brand voice rules pass",
    "approved": "Approvals of this stage are complete",
}


class Stage(WorkspaceOwned):
    """One step of a workspace's workflow, in ``position`` order.

    ``due_days_before`` is the deadline rule: the stage should be done this many days before
    the post's publish date (negative: after it). ``start_days_before`` is when the step
    normally starts; posts planned closer than the longest start get compressed deadlines.
    """

    name = models.CharField(max_length=60)
    key = models.SlugField(max_length=40)
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=20, choices=StageKind.choices, default=StageKind.WORK)
    owner_role = models.CharField(max_length=20, choices=Role.choices, default=Role.CREATOR)
    lanes = models.CharField(max_length=10, choices=StageLanes.choices, default=StageLanes.BOTH)
    start_days_before = models.IntegerField(default=0)
    due_days_before = models.IntegerField(default=0)
    checks = models.JSONField(default=list, blank=True)
    manual_items = models.JSONField(default=list, blank=True)
    approvers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    approval_rule = models.CharField(
        max_length=3, choices=ApprovalRule.choices, default=ApprovalRule.ANY
    )

    class Meta:
        ordering = ["workspace", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "key"], name="unique_stage_key"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_approval(self) -> bool:
        return self.kind != StageKind.WORK


class WorkflowSettings(models.Model):
    """Per-workspace workflow switches, lane rules and brand voice rules (created lazily)."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, related_name="workflow_settings"
    )
    allow_self_approval = models.BooleanField(default=False)
    # Lanes: a post is high-risk (strict lane) when one of these matches.
    risky_labels = models.JSONField(default=list, blank=True)
    risky_keywords = models.JSONField(default=list, blank=True)
    # Roles whose fast-lane posts need no approval at all (rapid response).
    rapid_response_roles = models.JSONField(default=list, blank=True)
    # Brand voice.
    banned_phrases = models.JSONField(default=list, blank=True)
    hashtag_min = models.PositiveSmallIntegerField(default=0)
    hashtag_max = models.PositiveSmallIntegerField(null=True, blank=True)
    # network → [min, max] characters (either may be null).
    length_bounds = models.JSONField(default=dict, blank=True)
    max_reading_grade = models.PositiveSmallIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"workflow settings of {self.workspace}"


class RequiredText(WorkspaceOwned):
    """A disclaimer or hashtag every post of a campaign, or with a label, must contain."""

    text = models.CharField(max_length=300)
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    label = models.ForeignKey(
        Label, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.text


class CampaignRisk(models.Model):
    """Marks a campaign as regulated (its posts take the strict lane) without touching content."""

    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, related_name="risk")
    regulated = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.campaign}: {'regulated' if self.regulated else 'normal'}"


class PostWorkflow(WorkspaceOwned):
    """Where a post is in the workflow: its stage, lane (and why), since when."""

    post = models.OneToOneField(Post, on_delete=models.CASCADE, related_name="workflow")
    # Deleting a stage with posts in it is refused by services.delete_stage; CASCADE here
    # lets a whole workspace be deleted.
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="+")
    lane = models.CharField(max_length=10, choices=Lane.choices, default=Lane.FAST)
    lane_reasons = models.JSONField(default=list, blank=True)
    entered_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["workspace", "stage"])]

    def __str__(self) -> str:
        return f"post {self.post_id} in {self.stage}"


class Assignment(WorkspaceOwned):
    """Who does one stage of one post."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="+")
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="+")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["post", "stage"], name="one_assignee_per_stage")
        ]

    def __str__(self) -> str:
        return f"{self.assignee} on {self.stage} of post {self.post_id}"


class StageVisit(WorkspaceOwned):
    """One stay of a post in a stage: the history behind time-in-stage and overdue figures."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="+")
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="+")
    entered_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    compressed = models.BooleanField(default=False)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    overridden = models.BooleanField(default=False)

    class Meta:
        ordering = ["entered_at", "id"]
        indexes = [
            models.Index(fields=["workspace", "entered_at"]),
            # Serves "open steps" (board, my work, reminders).
            models.Index(fields=["workspace", "left_at", "due_at"]),
        ]

    def __str__(self) -> str:
        return f"post {self.post_id} in {self.stage} from {self.entered_at:%Y-%m-%d}"


class ManualTick(WorkspaceOwned):
    """A person ticked one manual item of a stage's checklist for a post."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="+")
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="+")
    item = models.CharField(max_length=200)
    ticked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    ticked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["post", "stage", "item"], name="one_tick_per_item")
        ]

    def __str__(self) -> str:
        return f"{self.item} ✓"


class DecisionKind(models.TextChoices):
    APPROVE = "approve", "Approve"
    REQUEST_CHANGES = "request_changes", "Request changes"


class Decision(WorkspaceOwned):
    """An approval decision on one post version, in one approval stage.

    ``user`` is empty when a client decided through a review link (``review_link_id`` and
    ``via`` say which).
    """

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="+")
    version = models.ForeignKey(PostVersion, on_delete=models.CASCADE, related_name="decisions")
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="+")
    decision = models.CharField(max_length=20, choices=DecisionKind.choices)
    comment = models.TextField(blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    review_link_id = models.PositiveBigIntegerField(null=True, blank=True)
    via = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["post", "version", "stage"])]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} on {self.version}"

    @property
    def who(self) -> str:
        return str(self.user) if self.user_id else (self.via or "client")


class ReminderSent(models.Model):
    """One reminder per stage visit, kind and day: makes ``send_reminders`` idempotent."""

    visit = models.ForeignKey(StageVisit, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20)  # "due_tomorrow" | "overdue"
    day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["visit", "kind", "day"], name="one_reminder_a_day")
        ]

    def __str__(self) -> str:
        return f"{self.kind} reminder for visit {self.visit_id} on {self.day}"


class AuditEvent(WorkspaceOwned):
    """Who did what, on what, when and from where. Written by ``workflow.audit.record`` only;
    never changed afterwards."""

    created_at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    via = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=60)
    target_type = models.CharField(max_length=60, blank=True)
    target_id = models.CharField(max_length=40, blank=True)
    target_repr = models.CharField(max_length=200, blank=True)
    detail = models.TextField(blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["workspace", "-created_at", "-id"]),
            models.Index(fields=["workspace", "action"]),
        ]

    def __str__(self) -> str:
        return f"{self.action} by {self.who} at {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def who(self) -> str:
        if self.actor_id:
            return str(self.actor)
        return self.via or "system"
