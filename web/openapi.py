"""The OpenAPI document at /api/v1/openapi.json, as the API answers (PRODUCT.md's table): the JSON bodies the POST
routes read themselves (so FastAPI cannot see them), the If-Match and Idempotency-Key headers, the ETag, the error
object with the contract's statuses (400, never FastAPI's 422), the Bearer token and the session cookie."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

REF = "#/components/schemas/{model}"

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "string", "description": "bad-input, unauthenticated, unknown-case, "
                     "concurrent-modification, … or the rule id of a refusal (ROLE-01, AUTH-01, ORD-01, …)"},
            "message": {"type": "string"},
            "exit_code": {"type": "integer", "description": "the command line's exit code for the same error"},
            "field": {"type": "string", "description": "the field, parameter or header at fault (bad input)"},
            "rule": {"type": "string"}, "article": {"type": "string"},
            "findings": {"type": "array", "items": {"type": "object"}},
        },
        "additionalProperties": True,
    }},
}

STATUS_TEXT = {
    "400": "bad input (the command line's exit 2): malformed JSON, a schema violation, a bad date, a payload over "
           "its limits (LIM-01); `field` names what is wrong",
    "401": "missing or invalid credentials (a Bearer token or the session cookie)",
    "403": "the account's roles do not allow it (`code` ROLE-01 or AUTH-01)",
    "404": "unknown case",
    "409": "refused by a procedure rule (exit 3): `code` is the rule id; a WARN is recorded once acknowledged",
    "412": "If-Match is not the case's last seq (exit 6): someone else wrote first",
    "413": "the body is past anything a policy pack allows (LIM-01), refused unread",
    "429": "too many failed sign-ins: wait Retry-After seconds",
}

IF_MATCH = {"name": "If-Match", "in": "header", "required": False, "schema": {"type": "string", "pattern": r'^(W/)?"?\d+"?$'},
            "description": "the case's last seq as GET /api/v1/cases/{case_id} gave it in ETag; 412 when it moved on"}
IDEMPOTENCY_KEY = {"name": "Idempotency-Key", "in": "header", "required": False,
                   "schema": {"type": "string", "minLength": 1, "maxLength": 100},
                   "description": "a retry with the same key (and the same body) answers the first result, once"}
ETAG = {"ETag": {"description": "the case's last seq (send it back as If-Match)", "schema": {"type": "string"}}}


def _errors(*statuses: str) -> dict[str, Any]:
    return {s: {"description": STATUS_TEXT[s], "content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}}}
            for s in statuses}


def _body(model: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": {"$ref": REF.format(model=model)}}}}


def _hoist(schemas: dict[str, Any], model: type[BaseModel]) -> None:
    """The model's JSON Schema under components, its nested definitions beside it."""
    schema = model.model_json_schema(ref_template=REF)
    for name, sub in schema.pop("$defs", {}).items():
        schemas.setdefault(name, sub)
    schemas[model.__name__] = schema


def document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document (built once)."""
    if app.openapi_schema:
        return app.openapi_schema
    from web.api import LaunchBody, RecordBody, SessionBody

    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)  # the app answers 400 with the error object, never 422
    schemas.pop("ValidationError", None)
    schemas["Error"] = ERROR
    for model in (SessionBody, LaunchBody, RecordBody):
        _hoist(schemas, model)
    components["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer", "description": "a token from `juece user token NAME`"},
        "session": {"type": "apiKey", "in": "cookie", "name": "juece_session",
                    "description": "the session cookie POST /api/v1/session sets"},
    }
    signed_in = [{"bearer": []}, {"session": []}]
    for path, operations in doc.get("paths", {}).items():
        for method, op in operations.items():
            responses = op.setdefault("responses", {})
            responses.pop("422", None)
            key = (method.upper(), path)
            if key in (("GET", "/api/v1/health"), ("POST", "/api/v1/session"), ("DELETE", "/api/v1/session")):
                op["security"] = []
            else:
                op["security"] = signed_in
                responses.update(_errors("401", "403"))
            if op.get("parameters") or method != "get":
                responses.update(_errors("400"))
            if "{case_id}" in path or path == "/api/v1/audit/verify":
                responses.update(_errors("404"))
            op["parameters"] = op.get("parameters", [])
    paths = doc["paths"]
    session = paths["/api/v1/session"]["post"]
    session["requestBody"] = _body("SessionBody")
    session["responses"].update(_errors("401", "429"))
    if "204" not in paths["/api/v1/session"]["delete"]["responses"]:
        paths["/api/v1/session"]["delete"]["responses"] = {"204": {"description": "signed out"}}
    launch = paths["/api/v1/cases"]["post"]
    launch["requestBody"] = _body("LaunchBody")
    launch["parameters"].append(IDEMPOTENCY_KEY)
    launch["responses"].update(_errors("409", "413"))
    launch["responses"]["201"] = {"description": "the case launched (or, with the same Idempotency-Key, the case "
                                  "launched before)", "content": {"application/json": {"schema": {
                                      "type": "object", "required": ["case_id"],
                                      "properties": {"case_id": {"type": "string"}, "created": {"type": "boolean"}}}}}}
    record = paths["/api/v1/cases/{case_id}/records"]["post"]
    record["requestBody"] = _body("RecordBody")
    record["parameters"] += [IF_MATCH, IDEMPOTENCY_KEY]
    record["responses"].update(_errors("409", "412", "413"))
    record["responses"]["201"] = {"description": "recorded, as `record --json`", "headers": ETAG,
                                  "content": {"application/json": {"schema": {"type": "object"}}}}
    paths["/api/v1/cases/{case_id}"]["get"]["responses"]["200"]["headers"] = ETAG
    archive = paths["/api/v1/cases/{case_id}/archive"]["get"]
    archive["responses"]["200"] = {"description": "the BagIt bag, zipped, as `archive export` builds it",
                                   "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}}
    archive["responses"].update(_errors("409"))
    for name in ("schema", "example"):
        paths[f"/api/v1/events/{{event}}/{name}"]["get"]["responses"].update(_errors("400"))
    app.openapi_schema = doc
    return doc
