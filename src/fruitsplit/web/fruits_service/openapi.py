"""The OpenAPI 3.1 description of the fruits service's routes, written to match routes.py."""

from __future__ import annotations

from typing import Any

from fruitsplit.core.fruits import MAX_FRUIT_LENGTH
from fruitsplit.core.paging import DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def build_openapi_document() -> dict[str, Any]:
    record = {"$ref": "#/components/schemas/Record"}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "fruits service",
            "version": "1",
            "description": (
                "Every user's favourite fruit, served from Redis. Writes need an ES512"
                " token from the monolith's GET /token in the X-Auth-Token header."
            ),
        },
        "paths": {
            "/": {
                "get": {
                    "summary": "Every user's fruit; a page of them with limit or cursor",
                    "description": (
                        "Without limit and cursor: a JSON array of every record (in no"
                        " particular order), as the original service answers. With either:"
                        " a page, {items, next_cursor}; pass next_cursor back until it is"
                        " null. A page may hold fewer than limit items before the end."
                        " Unreadable records are left out, logged and counted."
                    ),
                    "parameters": [
                        {
                            "name": "limit",
                            "in": "query",
                            "required": False,
                            "schema": {
                                "type": "integer",
                                "minimum": 1,
                                "maximum": MAX_PAGE_LIMIT,
                                "default": DEFAULT_PAGE_LIMIT,
                            },
                        },
                        {
                            "name": "cursor",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string"},
                        },
                    ],
                    "responses": {
                        "200": _json(
                            "The records, or a page of them",
                            {
                                "oneOf": [
                                    {"type": "array", "items": record},
                                    {"$ref": "#/components/schemas/Page"},
                                ]
                            },
                        ),
                        "400": _error("A bad limit or cursor"),
                        "503": _error("Redis is unavailable"),
                    },
                }
            },
            "/fruit/{id}": {
                "get": {
                    "summary": "One user's fruit",
                    "parameters": [
                        {
                            "name": "id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "pattern": "^[0-9]{1,19}$"},
                        }
                    ],
                    "responses": {
                        "200": _json("The user's record", record),
                        "400": _error("The id is not a non-negative integer"),
                        "404": _error("No fruit is recorded for this user"),
                        "409": _error("The stored record is corrupt; a new choice replaces it"),
                        "503": _error("Redis is unavailable"),
                    },
                }
            },
            "/fruit": {
                method: {
                    "summary": "Choose the token holder's fruit",
                    "parameters": [
                        {
                            "name": "X-Auth-Token",
                            "in": "header",
                            "required": True,
                            "description": "The monolith's ES512 token (or Authorization: Bearer)",
                            "schema": {"type": "string"},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            media: {
                                "schema": {
                                    "type": "object",
                                    "required": ["fruit"],
                                    "properties": {
                                        "fruit": {
                                            "type": "string",
                                            "maxLength": MAX_FRUIT_LENGTH,
                                            "description": "Letters and single inner spaces",
                                        }
                                    },
                                }
                            }
                            for media in (
                                "application/x-www-form-urlencoded",
                                "multipart/form-data",
                            )
                        },
                    },
                    "responses": {
                        "201": _json("Stored", {"$ref": "#/components/schemas/StoredRecord"}),
                        "400": _error("Missing or invalid fruit, or a malformed body"),
                        "401": _error("The token is missing or invalid"),
                        "403": _error("A special fruit for a user who is not super"),
                        "413": _error("The body is too large"),
                        "503": _error("Redis is unavailable"),
                    },
                }
                for method in ("put", "post")
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "responses": {"200": {"description": "Prometheus text format"}},
                }
            },
            "/healthz": {
                "get": {
                    "summary": "Whether the service can reach Redis",
                    "responses": {
                        "200": _json("Ready", {"type": "object"}),
                        "503": _error("Redis is unavailable"),
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": {"description": "OpenAPI 3.1"}},
                }
            },
        },
        "components": {
            "schemas": {
                "Record": {
                    "type": "object",
                    "required": ["username", "fruit"],
                    "properties": {"username": {"type": "string"}, "fruit": {"type": "string"}},
                },
                "StoredRecord": {
                    "type": "object",
                    "required": ["username", "fruit", "user_id", "version"],
                    "properties": {
                        "username": {"type": "string"},
                        "fruit": {"type": "string"},
                        "user_id": {"type": "integer"},
                        "version": {"type": "integer"},
                    },
                },
                "Page": {
                    "type": "object",
                    "required": ["items", "next_cursor"],
                    "properties": {
                        "items": {"type": "array", "items": record},
                        "next_cursor": {"type": ["string", "null"]},
                    },
                },
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {"type": "string"}},
                },
            }
        },
    }
