"""`/openapi.json`: an OpenAPI 3.1 document built from the declared endpoints.

Every endpoint already declares its method, paths, access, request and answer schemas; this
turns that list into the document, so the document cannot drift from what is served.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ocx_sim.auth.policy import Access
from ocx_sim.gateway.endpoint import Endpoint
from ocx_sim.gateway.schemas import Schema, ref

_SECURITY: dict[Access, list[dict[str, list[str]]]] = {
    Access.PUBLIC: [],
    Access.OPTIONAL: [{}, {"session": []}, {"bearer": []}],
    Access.SESSION: [{"session": []}, {"bearer": []}],
    Access.READ: [{"session": []}, {"bearer": []}, {"apiKey": []}],
    Access.TRADE: [{"session": []}, {"bearer": []}, {"apiKey": []}],
    Access.KEY_MANAGEMENT: [{"session": []}, {"bearer": []}],
}


def document(
    endpoints: Iterable[Endpoint], components: Mapping[str, Schema], *, title: str, version: str
) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        for path in (endpoint.path, *endpoint.aliases):
            paths.setdefault(path, {})[endpoint.method.lower()] = _operation(endpoint, path)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": dict(components),
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "astra_session"},
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
            },
        },
    }


def _operation(endpoint: Endpoint, path: str) -> dict[str, Any]:
    alias = path != endpoint.path
    operation: dict[str, Any] = {
        "operationId": endpoint.operation_id + ("_alias_" + _slug(path) if alias else ""),
        "summary": endpoint.summary + (f" (alias of {endpoint.path})" if alias else ""),
        "tags": [endpoint.tag],
        "security": _SECURITY[endpoint.access],
        "responses": {
            str(endpoint.status): {
                "description": "Success",
                "content": {endpoint.media_type: {"schema": endpoint.response}},
            },
            "default": {
                "description": "An error from the catalog",
                "content": {"application/json": {"schema": ref("Error")}},
            },
        },
    }
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{(\w+)}", path)
    ]
    parameters += [
        {
            "name": name,
            "in": "query",
            "required": bool(schema.get("x-required")),
            "schema": {k: v for k, v in schema.items() if k != "x-required"},
        }
        for name, schema in endpoint.query.items()
    ]
    if parameters:
        operation["parameters"] = parameters
    if endpoint.request is not None:
        operation["requestBody"] = {
            "required": not endpoint.body_optional,
            "content": {"application/json": {"schema": endpoint.request}},
        }
    return operation


def _slug(path: str) -> str:
    return re.sub(r"\W+", "_", path).strip("_")
