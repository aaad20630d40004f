"""API: the workspace's taxonomy (labels, pillars, campaigns) and the composer's aids (hashtag
groups, post templates): plain lists that every member reads and owners and managers change.

No ``from __future__ import annotations`` here: the routes are made by one function for five
models, and ninja reads their parameter types at import time.
"""

import inspect
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Model, QuerySet
from ninja import Field, Router, Schema, Status

from socialdesk.api_support import Id, MemberRequest, Slug, Text, requires, responses
from socialdesk.workspaces.access import get_in_workspace
from socialdesk.workspaces.services import save_owned

from . import services
from .composer import placeholders
from .models import Campaign, HashtagGroup, Label, Pillar, PostTemplate

router = Router()
HEX_COLOR = r"^#[0-9a-fA-F]{6}$"
TAXONOMY_TAGS = ["taxonomy"]


# --- Labels, pillars, campaigns -----------------------------------------------------------


class LabelOut(Schema):
    id: int
    name: str
    color: str


class LabelIn(Schema):
    name: Text = Field(min_length=1, max_length=60)
    color: str = Field("#6b7280", pattern=HEX_COLOR, description="A CSS hex colour.")


class LabelPatch(Schema):
    name: Text | None = Field(None, min_length=1, max_length=60)
    color: str | None = Field(None, pattern=HEX_COLOR)


class PillarOut(Schema):
    id: int
    name: str
    description: str
    color: str
    target_share: int = Field(description="Percent of the mix, 0 to 100.")


class PillarIn(Schema):
    name: Text = Field(min_length=1, max_length=60)
    description: Text = Field("", max_length=300)
    color: str = Field("#2563eb", pattern=HEX_COLOR)
    target_share: int = Field(0, ge=0, le=100)


class PillarPatch(Schema):
    name: Text | None = Field(None, min_length=1, max_length=60)
    description: Text | None = Field(None, max_length=300)
    color: str | None = Field(None, pattern=HEX_COLOR)
    target_share: int | None = Field(None, ge=0, le=100)


class CampaignOut(Schema):
    id: int
    name: str
    starts_on: date
    ends_on: date
    goal: str
    budget: Decimal
    utm_campaign: str


class CampaignIn(Schema):
    name: Text = Field(min_length=1, max_length=120)
    starts_on: date
    ends_on: date = Field(description="On or after starts_on.")
    goal: Text = Field("", max_length=300)
    budget: Decimal = Field(Decimal(0), ge=0, max_digits=12, decimal_places=2)
    utm_campaign: str = Field("", max_length=100, pattern=r"^[-a-zA-Z0-9_]*$")


class CampaignPatch(Schema):
    name: Text | None = Field(None, min_length=1, max_length=120)
    starts_on: date | None = None
    ends_on: date | None = None
    goal: Text | None = Field(None, max_length=300)
    budget: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)
    utm_campaign: str | None = Field(None, max_length=100, pattern=r"^[-a-zA-Z0-9_]*$")


def _save_simple(obj: Model, fields: list[str] | None = None) -> Model:
    return save_owned(obj, fields=fields)


def _save_campaign(obj: Model, fields: list[str] | None = None) -> Model:
    return services.save_campaign(obj, fields)  # type: ignore[arg-type]


def _taxonomy_routes(
    plural: str,
    model: type[Model],
    out: type,
    create: type,
    patch: type,
    save: Any,
    id_name: str = "",
    tags: list[str] | None = None,
) -> None:
    """CRUD for one taxonomy model: anyone reads, owners and managers change."""
    name = model._meta.verbose_name
    id_name = id_name or f"{name}_id"
    tags = tags or TAXONOMY_TAGS
    collection = f"/workspaces/{{slug}}/{plural}"
    item = f"{collection}/{{{id_name}}}"

    @requires("taxonomy.view")
    def list_(request: MemberRequest, slug: Slug) -> QuerySet:
        return model._default_manager.filter(workspace=request.workspace)

    @requires("taxonomy.manage")
    def create_(request: MemberRequest, slug: Slug, payload: create) -> Status:  # type: ignore[valid-type]
        obj = model(workspace=request.workspace, **payload.dict())  # type: ignore[attr-defined]
        return Status(201, save(obj))

    @requires("taxonomy.view")
    def read_(request: MemberRequest, slug: Slug, **ids: int) -> Model:
        return get_in_workspace(model, request.workspace, pk=ids[id_name])

    @requires("taxonomy.manage")
    def update_(request: MemberRequest, slug: Slug, payload: patch, **ids: int) -> Model:  # type: ignore[valid-type]
        obj = get_in_workspace(model, request.workspace, pk=ids[id_name])
        changes = payload.dict(exclude_none=True)  # type: ignore[attr-defined]
        for field, value in changes.items():
            setattr(obj, field, value)
        return save(obj, list(changes))

    @requires("taxonomy.manage")
    def delete_(request: MemberRequest, slug: Slug, **ids: int) -> Status:
        get_in_workspace(model, request.workspace, pk=ids[id_name]).delete()
        return Status(204, None)

    # The id's name differs per model: give the item handlers a real parameter for it.
    for handler in (read_, update_, delete_):
        _with_id_parameter(handler, id_name)

    router.get(
        collection,
        response=responses(list[out]),  # type: ignore[valid-type]
        operation_id=f"{plural}_list",
        tags=tags,
    )(list_)
    router.post(
        collection,
        response=responses(out, 201),
        operation_id=f"{plural}_create",
        tags=tags,
    )(create_)
    router.get(
        item,
        response=responses(out),
        operation_id=f"{plural}_read",
        tags=tags,
    )(read_)
    router.patch(
        item,
        response=responses(out),
        operation_id=f"{plural}_update",
        tags=tags,
    )(update_)
    router.delete(
        item,
        response=responses(None, 204),
        operation_id=f"{plural}_delete",
        tags=tags,
    )(delete_)


@requires("taxonomy.manage")
def _with_id_parameter(handler: Any, id_name: str) -> None:
    signature = inspect.signature(handler)
    params = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
    params.append(inspect.Parameter(id_name, inspect.Parameter.KEYWORD_ONLY, annotation=Id))
    handler.__signature__ = signature.replace(parameters=params)
    handler.__annotations__ = {**handler.__annotations__, id_name: Id}


_taxonomy_routes("labels", Label, LabelOut, LabelIn, LabelPatch, _save_simple)
_taxonomy_routes("pillars", Pillar, PillarOut, PillarIn, PillarPatch, _save_simple)
_taxonomy_routes("campaigns", Campaign, CampaignOut, CampaignIn, CampaignPatch, _save_campaign)


# --- Composer aids: hashtag groups and templates (issue 5, item 3) -------------------------


class HashtagGroupOut(Schema):
    id: int
    name: str
    hashtags: str


class HashtagGroupIn(Schema):
    name: Text = Field(..., min_length=1, max_length=60)
    hashtags: Text = Field(..., max_length=500, description="Separated by spaces or commas.")


class HashtagGroupPatch(Schema):
    name: Text | None = Field(None, min_length=1, max_length=60)
    hashtags: Text | None = Field(None, max_length=500)


class PostTemplateOut(Schema):
    id: int
    name: str
    text: str
    placeholders: list[str] = Field(description="The {names} the composer asks for.")

    @staticmethod
    def resolve_placeholders(obj: PostTemplate) -> list[str]:
        return placeholders(obj.text)


class PostTemplateIn(Schema):
    name: Text = Field(..., min_length=1, max_length=80)
    text: Text = Field(..., min_length=1, max_length=5000)


class PostTemplatePatch(Schema):
    name: Text | None = Field(None, min_length=1, max_length=80)
    text: Text | None = Field(None, min_length=1, max_length=5000)


_taxonomy_routes(
    "hashtag_groups",
    HashtagGroup,
    HashtagGroupOut,
    HashtagGroupIn,
    HashtagGroupPatch,
    _save_simple,
    id_name="group_id",
    tags=["composer"],
)
_taxonomy_routes(
    "post_templates",
    PostTemplate,
    PostTemplateOut,
    PostTemplateIn,
    PostTemplatePatch,
    _save_simple,
    id_name="template_id",
    tags=["composer"],
)
