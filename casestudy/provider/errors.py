"""Errors in OpenAI's format: {"error": {"message", "type", "param", "code"}}; and the 499
of a client that hangs up before its completion (`disconnected` tells when).

What an error echoes of the request (a model name, a parameter's name) is cut by
`shorten`: an error reply or ledger row is never as long as what the client sent."""

from __future__ import annotations

from fastapi.responses import JSONResponse


UNION_BRANCH_NAMES = {"str", "list[TextPart]", "list[str]", "int", "float", "bool", "none"}
CLIENT_CLOSED = 499  # nginx's "client closed request": ledgered for cancelled requests, never sent
ECHO_CHARS = 64      # the most of a client's string an error message repeats


def shorten(text: str, limit: int = ECHO_CHARS) -> str:
    """`text`, or its first `limit` characters and a note that it was cut and how long it was."""
    return text if len(text) <= limit else f"{text[:limit]}... (truncated; {len(text)} characters)"


class APIError(Exception):
    """An error the client caused (or a limit it hit), sent as an OpenAI error object."""

    def __init__(self, status: int, message: str, code: str | None = None, param: str | None = None,
                 type: str = "invalid_request_error", headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.code, self.param = status, message, code, param
        self.type, self.headers = type, headers or {}

    def response(self) -> JSONResponse:
        body = {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}
        return JSONResponse(body, status_code=self.status, headers=self.headers)


def bad_request(message: str, param: str | None = None, code: str = "invalid_value") -> APIError:
    return APIError(400, message, code=code, param=param)


def model_not_found(model: str, served: str | None = None) -> APIError:
    also = f" This server serves '{served}'." if served else ""
    return APIError(404, f"The model '{shorten(model)}' does not exist or you do not have access to it.{also}",
                    code="model_not_found", param="model")


def client_closed(before: str = "the completion was ready") -> APIError:
    return APIError(CLIENT_CLOSED, f"The client closed the connection before {before}; the request was cancelled.",
                    code="client_disconnected")


async def disconnected(request) -> None:
    """Returns once the client has gone (call it after the body is read: it takes what arrives)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


def from_validation_errors(errors: list[dict]) -> APIError:
    """The first pydantic error, worded for a client, naming the offending parameter."""
    error = errors[0]
    if error["type"] == "json_invalid":
        return bad_request(f"The request body is not valid JSON: {error.get('ctx', {}).get('error', error['msg'])}.",
                           code="json_invalid")
    # Union branches add their type name to the location (e.g. "str"); drop them.
    loc = [str(part) for part in error.get("loc", ()) if str(part) not in UNION_BRANCH_NAMES]
    param = shorten(".".join(f"[{p}]" if p.isdigit() else p for p in loc), 2 * ECHO_CHARS) if loc else None
    if error["type"] == "missing":
        return bad_request(f"Missing required parameter: '{param}'.", param, code="missing_required_parameter")
    if error["type"] == "extra_forbidden":
        return bad_request(f"Unrecognized request argument supplied: '{param}'.", param, code="unknown_parameter")
    if error["type"] == "model_type" and not loc:
        return bad_request("The request body must be a JSON object.", None, code="invalid_type")
    if error["type"] == "string_too_long":  # OpenAI's wording and code
        limit, length = error.get("ctx", {}).get("max_length"), len(error.get("input") or "")
        return bad_request(f"Invalid '{param}': string too long. Expected a string with maximum length {limit}, "
                           f"but got a string with length {length} instead.", param, code="string_above_max_length")
    shown = repr(error.get("input"))
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return bad_request(f"Invalid value for '{param}': {error['msg']} (got {shown}).", param,
                       code="invalid_type" if error["type"].endswith("_type") else "invalid_value")
