"""Small helpers shared by the API tests: calling with a token, making real images."""

from __future__ import annotations

import io
import json
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

API = "/api/v1"


def png_bytes(width: int = 4, height: int = 3, color: str = "orange") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()


def png_upload(name: str = "bread.png", **kwargs: Any) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(**kwargs), content_type="image/png")


def call(
    method: str,
    path: str,
    token: str | None = None,
    json_body: Any = None,
    files: dict[str, Any] | None = None,
    client: Client | None = None,
) -> Any:
    """Call the API as a script would: bearer token, JSON body or multipart form."""
    client = client or Client()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = path if path.startswith(API) else API + path
    if files is not None:
        return client.post(url, data=files, headers=headers)
    if json_body is not None:
        return client.generic(
            method.upper(), url, json.dumps(json_body), "application/json", headers=headers
        )
    return client.generic(method.upper(), url, headers=headers)
