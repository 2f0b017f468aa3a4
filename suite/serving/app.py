"""The FastAPI application: ``POST /predict``, ``GET /health``, ``GET /info`` (and FastAPI's /docs).

``/predict``'s body is read and checked here rather than by a pydantic model, so that every bad request
(too large, not JSON, the wrong shape or content type) gets a 4xx with a one-line ``{"error": "..."}``
naming what is wrong, and the body is never read past its size limit.

``POST /predict`` is answered by a thin ASGI layer in front of FastAPI (:class:`PredictFirst`): its routing,
middleware and request objects cost the server about as much CPU per request as a micro-batched forward
pass, and /predict needs none of them. FastAPI still documents the route and answers everything else.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any, AsyncIterator

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..atomic import dumps_strict
from .batcher import Batcher, RequestFailed

MAX_BODY_BYTES = 1 << 20  # 1 MiB
MAX_INPUTS = 256  # inputs in one request's list


ONE_INPUT = {"title": "OneInput", "type": "object", "required": ["input"], "additionalProperties": False,
             "properties": {"input": {"type": "string", "description": "one input, as --predict takes it (text "
                                                                       "only: never a file name)"}}}
MANY_INPUTS = {"title": "ManyInputs", "type": "object", "required": ["inputs"], "additionalProperties": False,
               "properties": {"inputs": {"type": "array", "items": {"type": "string"}, "minItems": 1,
                                         "maxItems": MAX_INPUTS,
                                         "description": "several inputs; the answer is a list in order"}}}
ERROR_BODY = {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}


def json_response(value: Any, status: int = 200) -> Response:
    return Response(dumps_strict(value), status_code=status, media_type="application/json")


def error_text(message: str) -> str:
    return dumps_strict({"error": " ".join(str(message).split())})


def error(status: int, message: str) -> Response:
    return Response(error_text(message), status_code=status, media_type="application/json")


class BadRequest(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


async def read_body(declared: str | None, stream: AsyncIterator[bytes], limit: int) -> bytes:
    """The body of a request whose Content-Length header is ``declared``, never read past ``limit``."""
    if declared is not None:
        if not declared.strip().isdigit():
            raise BadRequest(400, "the Content-Length header is not a number")
        if int(declared) > limit:
            raise BadRequest(413, f"the body is {int(declared):,} bytes; at most {limit:,} are accepted")
    chunks, size = [], 0
    async for chunk in stream:
        size += len(chunk)
        if size > limit:
            raise BadRequest(413, f"the body is over {limit:,} bytes; at most {limit:,} are accepted")
        chunks.append(chunk)
    return b"".join(chunks)


async def answer_predict(batcher: Batcher, declared: str | None, content_type: str | None,
                         stream: AsyncIterator[bytes], max_body: int, max_inputs: int) -> tuple[int, str]:
    """``(status, JSON text)`` for one POST /predict: its answers, or a one-line error."""
    try:
        body = await read_body(declared, stream, max_body)
        inputs, single = parse_request(body, content_type, max_inputs)
    except BadRequest as exc:
        return exc.status, error_text(exc.message)
    try:
        results = await asyncio.wrap_future(batcher.submit(inputs, single))
    except RequestFailed as exc:
        return exc.status, error_text(exc.message)
    return 200, dumps_strict(results[0] if single else results)


class PredictFirst:
    """ASGI: ``POST /predict`` answered here, through the same :func:`answer_predict` as the documented
    route; every other request goes to ``app`` (FastAPI)."""

    def __init__(self, app: FastAPI, batcher: Batcher, max_body: int, max_inputs: int):
        self.app, self.batcher = app, batcher
        self.max_body, self.max_inputs = max_body, max_inputs

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"] != "/predict" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = {}
        for name, value in scope["headers"]:
            if name in (b"content-length", b"content-type"):
                headers[name] = value.decode("latin-1")

        async def stream() -> AsyncIterator[bytes]:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise _Gone
                yield message.get("body", b"")
                if not message.get("more_body", False):
                    return

        try:
            status, text = await answer_predict(self.batcher, headers.get(b"content-length"),
                                                headers.get(b"content-type"), stream(), self.max_body,
                                                self.max_inputs)
        except _Gone:  # the client hung up before its body came: there is no one to answer
            return
        except Exception as exc:  # noqa: BLE001 - as FastAPI's handler below: said, logged, the server goes on
            print(f"error: POST /predict failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            status, text = 500, error_text(f"internal error ({type(exc).__name__}); the server log has the details")
        body = text.encode("utf-8")
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class _Gone(Exception):
    """The client disconnected while its request was read."""


def parse_request(body: bytes, content_type: str | None, max_inputs: int) -> tuple[list[str], bool]:
    """``(inputs, single)`` from a /predict body, or a BadRequest naming what is wrong."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media != "application/json":
        raise BadRequest(415, f"the body must be JSON sent as Content-Type: application/json (got "
                              f"{media or 'no content type'})")
    if not body.strip():
        raise BadRequest(400, 'the body is empty; send {"input": "..."} or {"inputs": ["...", ...]}')
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise BadRequest(400, "the body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise BadRequest(400, f"malformed JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    shape = '{"input": "..."} or {"inputs": ["...", ...]}'
    if not isinstance(data, dict):
        raise BadRequest(422, f"the body must be a JSON object, {shape}; got {_kind(data)}")
    unknown = sorted(set(data) - {"input", "inputs"})
    if unknown:
        raise BadRequest(422, f"unknown field '{unknown[0]}'; send {shape}")
    if ("input" in data) == ("inputs" in data):
        raise BadRequest(422, f"send one of 'input' and 'inputs': {shape}")
    if "input" in data:
        if not isinstance(data["input"], str):
            raise BadRequest(422, f"'input' must be a string, got {_kind(data['input'])}")
        return [data["input"]], True
    inputs = data["inputs"]
    if not isinstance(inputs, list):
        raise BadRequest(422, f"'inputs' must be a list of strings, got {_kind(inputs)}")
    if not inputs:
        raise BadRequest(422, "'inputs' is empty; give at least one")
    if len(inputs) > max_inputs:
        raise BadRequest(413, f"'inputs' holds {len(inputs):,} items; at most {max_inputs} per request")
    for i, item in enumerate(inputs):
        if not isinstance(item, str):
            raise BadRequest(422, f"inputs[{i}] must be a string, got {_kind(item)}")
    return inputs, False


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list",
            dict: "an object"}.get(type(value), type(value).__name__)


def create_app(batcher: Batcher, info: dict[str, Any], *, max_body: int = MAX_BODY_BYTES,
               max_inputs: int = MAX_INPUTS) -> FastAPI:
    task = info["task"]
    app = FastAPI(title=f"rnn-suite: {task}", version=str(info.get("version", "")),
                  description=f"Predictions of a trained {task} run ({info.get('checkpoint')}). POST /predict "
                              f"answers what `main.py --checkpoint RUN --predict INPUT` prints, as JSON.")
    errors = {status: {"description": text, "content": {"application/json": {"schema": ERROR_BODY}}}
              for status, text in (
        (400, "malformed JSON or an empty body"), (413, "a body or list over the limits"),
        (415, "not application/json"), (422, "a wrong shape or input type, or an input the task rejects"),
        (500, "a bug in the task (the server log has the traceback)"))}

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return error(404, f"no such endpoint: {request.method} {request.url.path} (see /docs)")
        if exc.status_code == 405:
            return error(405, f"{request.method} is not allowed on {request.url.path} (see /docs)")
        return error(exc.status_code, exc.detail)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        return error(422, "; ".join(str(e.get("msg")) for e in exc.errors()) or "invalid request")

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> Response:
        print(f"error: {request.method} {request.url.path} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return error(500, f"internal error ({type(exc).__name__}); the server log has the details")

    @app.get("/health", summary="the server is up and answering")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "task": task, "requests": batcher.requests, "batches": batcher.batches,
                "largest_batch": batcher.largest}

    @app.get("/info", summary="the task, its input and output kinds, the run's settings and metrics")
    async def get_info() -> Response:
        return json_response(info)

    @app.post("/predict", summary="predict one input or a list", responses=errors,
              openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {
                  "oneOf": [ONE_INPUT, MANY_INPUTS]}}}}})
    async def predict(request: Request) -> Response:
        """`{"input": "..."}` answers the value `--predict` prints (as JSON); `{"inputs": [...]}` a list of
        them, in order. Concurrent requests are answered together in micro-batches."""
        status, text = await answer_predict(batcher, request.headers.get("content-length"),
                                            request.headers.get("content-type"), request.stream(), max_body,
                                            max_inputs)
        return Response(text, status_code=status, media_type="application/json")

    return app


def create_server_app(batcher: Batcher, info: dict[str, Any], *, max_body: int = MAX_BODY_BYTES,
                      max_inputs: int = MAX_INPUTS) -> PredictFirst:
    """What the server runs: :func:`create_app`'s FastAPI behind :class:`PredictFirst`."""
    return PredictFirst(create_app(batcher, info, max_body=max_body, max_inputs=max_inputs), batcher, max_body,
                        max_inputs)
