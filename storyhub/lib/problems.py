"""RFC 9457 problem details for every HTTP error, with a stable ``code``."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from storyhub.lib.errors import StoryhubError

log = logging.getLogger("storyhub.errors")

PROBLEM_JSON = "application/problem+json"

# Litestar's own HTTP errors mapped to our stable codes.
_CODES_BY_STATUS = {
    400: "invalidInput",
    401: "unauthenticated",
    403: "forbidden",
    404: "notFound",
    405: "methodNotAllowed",
    409: "conflict",
    413: "payloadTooLarge",
    415: "unsupportedMediaType",
    429: "rateLimited",
    503: "unavailable",
}


def problem(
    status: int, code: str, title: str, detail: str, **extra: Any
) -> Response[dict[str, Any]]:
    """Build one problem-details response."""
    body: dict[str, Any] = {
        "type": f"https://storyhub.dev/problems/{code}",
        "title": title,
        "status": status,
        "code": code,
        "detail": detail,
    }
    body.update(extra)
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON)


def storyhub_error_handler(
    _: Request[Any, Any, Any], exc: StoryhubError
) -> Response[dict[str, Any]]:
    response = problem(exc.status, exc.code, exc.title, exc.message, **exc.extra)
    retry_after = exc.extra.get("retryAfter")
    if isinstance(retry_after, int):
        # A 429/503 that knows when asking again can succeed says so in the header too.
        response.headers["Retry-After"] = str(retry_after)
    return response


def _validation_detail(exc: ValidationException) -> tuple[str, list[dict[str, Any]]]:
    errors: list[dict[str, Any]] = []
    extra = exc.extra
    if isinstance(extra, list):
        errors = [e for e in extra if isinstance(e, dict)]
    message = exc.detail or "The request is not valid."
    if errors:
        first = errors[0]
        where = first.get("key") or first.get("source") or "body"
        message = f"{first.get('message', message)} (at {where})."
    return message, errors


def http_exception_handler(
    _: Request[Any, Any, Any], exc: HTTPException
) -> Response[dict[str, Any]]:
    status = exc.status_code
    code = _CODES_BY_STATUS.get(status, "httpError")
    if isinstance(exc, ValidationException):
        detail, errors = _validation_detail(exc)
        return problem(status, code, "Invalid input", detail, errors=errors)
    headers = getattr(exc, "headers", None) or {}
    title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    response = problem(status, code, title, exc.detail or "Request failed.")
    response.headers.update(headers)
    return response


def internal_error_handler(
    request: Request[Any, Any, Any], exc: Exception
) -> Response[dict[str, Any]]:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(
        HTTP_500_INTERNAL_SERVER_ERROR,
        "internalError",
        "Internal error",
        "Something went wrong on our side; the request was not applied.",
    )


EXCEPTION_HANDLERS = {
    StoryhubError: storyhub_error_handler,
    HTTPException: http_exception_handler,
    Exception: internal_error_handler,
}

__all__ = ["EXCEPTION_HANDLERS", "PROBLEM_JSON", "MediaType", "problem"]
