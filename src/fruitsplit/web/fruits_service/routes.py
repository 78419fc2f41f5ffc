"""The fruits service's request handlers: thin translations between HTTP and FruitRecords.

Domain errors are not caught here: the app's handlers turn them into statuses
through web/errors.py, and Redis failures into 503.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import orjson
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from fruitsplit.core.paging import decode_page_cursor, encode_page_cursor, parse_page_limit
from fruitsplit.core.record import FruitRecord
from fruitsplit.core.users import parse_user_id
from fruitsplit.web.fruits_service.openapi import build_openapi_document
from fruitsplit.wiring import FruitsMicroservice

TOKEN_HEADER = "x-auth-token"
# A form holding one fruit name is a few dozen bytes.
MAX_FORM_BYTES = 16 * 1024
MAX_FORM_FIELDS = 32


class JsonResponse(Response):
    """JSON through orjson, which also writes dataclasses such as FruitRecord as objects."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def service_of(request: Request) -> FruitsMicroservice:
    service: FruitsMicroservice = request.app.state.service
    return service


def token_of(request: Request) -> str | None:
    """X-Auth-Token, as the original reads it, else an `Authorization: Bearer` token."""
    token = request.headers.get(TOKEN_HEADER)
    if token is None:
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            token = credentials.strip()
    return token


def as_json_objects(records: list[FruitRecord]) -> list[dict[str, str]]:
    # orjson writes plain dicts about ten times faster than slotted dataclasses,
    # which is most of the cost of a 10,000-record list.
    return [{"username": record.username, "fruit": record.fruit} for record in records]


async def list_fruits(request: Request) -> Response:
    fruits = service_of(request).fruits
    query = request.query_params
    if "limit" not in query and "cursor" not in query:
        return JsonResponse(as_json_objects(await fruits.list_records()))
    limit = parse_page_limit(query.get("limit"))
    start = decode_page_cursor(query.get("cursor"))
    page = await fruits.page_records(start, limit)
    following = page.next_position
    return JsonResponse(
        {
            "items": as_json_objects(page.records),
            "next_cursor": None if following is None else encode_page_cursor(following),
        }
    )


async def get_fruit(request: Request) -> Response:
    user_id = parse_user_id(request.path_params["id"])
    return JsonResponse(await service_of(request).fruits.fetch_record(user_id))


async def set_fruit(request: Request) -> Response:
    fruits = service_of(request).fruits
    # Who the user is comes from the token alone, and before the body is read.
    subject = await fruits.authenticate(token_of(request))
    stored = await fruits.choose_fruit(subject, await read_fruit_field(request))
    return JsonResponse(
        {
            "username": stored.username,
            "fruit": stored.fruit,
            "user_id": stored.user_id,
            "version": stored.version,
        },
        status_code=201,
        headers={"Location": f"/fruit/{stored.user_id}"},
    )


async def read_fruit_field(request: Request) -> str:
    """The form's `fruit` (else the query string's, as the original's FormValue reads); "" if none.

    Raises HTTPException 400 for a malformed body, 413 for one past MAX_FORM_BYTES.
    """
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    value: object = None
    if media_type == "multipart/form-data":
        try:
            form = await request.form(
                max_files=0, max_fields=MAX_FORM_FIELDS, max_part_size=MAX_FORM_BYTES
            )
        except (HTTPException, ValueError, KeyError) as exc:
            raise HTTPException(400, "malformed form body") from exc
        value = form.get("fruit")
    else:
        # Parsed here rather than by Starlette's streaming form parser: the body is
        # bounded and tiny, and this is the hot path of every write.
        body = await read_bounded_body(request, MAX_FORM_BYTES)
        try:
            fields = parse_qsl(
                body.decode("utf-8"),
                keep_blank_values=True,
                max_num_fields=MAX_FORM_FIELDS,
                errors="strict",
            )
        except ValueError as exc:
            raise HTTPException(400, "malformed form body") from exc
        value = next((field_value for name, field_value in fields if name == "fruit"), None)
    if value is None:
        value = request.query_params.get("fruit")
    if value is not None and not isinstance(value, str):
        raise HTTPException(400, "fruit must be a form field, not a file")
    return value or ""


async def read_bounded_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"the body may be at most {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(413, f"the body may be at most {limit} bytes")
    return bytes(body)


async def metrics(request: Request) -> Response:
    return Response(service_of(request).metrics.render(), media_type=CONTENT_TYPE_LATEST)


async def health(request: Request) -> Response:
    await service_of(request).records.ping()
    return JsonResponse({"status": "ok"})


async def openapi(request: Request) -> Response:
    return JsonResponse(build_openapi_document())
