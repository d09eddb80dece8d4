"""The ASGI app (Starlette): ``/v1/chat/completions``, ``/v1/completions``, ``/v1/models``
(also without ``/v1``, as llama.cpp's server answers), with CORS for browser clients.

A request is read with a size limit, validated (``schemas``), routed to the base model or a
task (``registry``) and queued (``scheduler``). The response starts once the first piece of
the reply is there, so errors found on the worker (a prompt too long for the context) are
still proper 4xx answers. Streaming answers are server-sent events ending in
``data: [DONE]``; every answer carries ``usage`` and an ``mlx_ifp`` extension (active
parameters, cache hit, keep, mask source).
"""

from __future__ import annotations

import asyncio
import hmac
import inspect
import json
import time
import uuid
from collections.abc import AsyncIterator, Sequence

from mlx_ifp.common import UsageError

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from .registry import Piece, Registry, template_args
from .scheduler import Job, QueueFull, Scheduler
from .schemas import APIError, GenRequest, Limits, parse_request

CREATED = int(time.time())
RETRY_AFTER_S = 1  # what a 503 (queue full, stopping) tells clients to wait
#: answers a retry would only repeat (the openai client retries a 5xx twice unless told ``x-should-
#: retry: false``): a timeout or failure would redo the work on the one worker; a 503 may pass
HEADERS = {503: {"Retry-After": str(RETRY_AFTER_S)}, 500: {"x-should-retry": "false"}}
HEADERS[504], HEADERS[401] = HEADERS[500], {"WWW-Authenticate": "Bearer"}  # (RFC 6750's)
#: paths answered without an API key, as llama-server answers /health and /models (the cards too)
PUBLIC = ("/health", "/v1/health", "/models", "/v1/models")
CARDS = ("/models/", "/v1/models/")


def error_response(e: APIError) -> JSONResponse:
    return JSONResponse(e.body(), status_code=e.status, headers=HEADERS.get(e.status))


def _as_api_error(e: BaseException) -> APIError:
    if isinstance(e, APIError):
        return e
    if isinstance(e, UsageError):
        return APIError(400, str(e))
    if isinstance(e, QueueFull):  # the server's state, not the request's fault: retry later
        return APIError(503, f"the server is busy: {e}", type="server_error", code="busy")
    return APIError(500, "internal error while generating", type="server_error")


def client_error(e: BaseException) -> bool:
    """A job's error that the client caused (answered with a 4xx, not logged as a failure)."""
    return _as_api_error(e).status < 500


async def read_json(request: Request, limit: int):
    """The request body as JSON, refusing bodies over ``limit`` bytes (413) and bad JSON (400)."""
    big = APIError(413, f"the request body is over {limit} bytes", code="body_too_large")
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise big
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise big
            chunks.append(chunk)
    except ClientDisconnect:  # gone mid-body: nobody to answer, and not an error to log
        raise APIError(499, "the client closed the connection", code="client_closed") from None
    try:
        body = json.loads(b"".join(chunks))
        json.dumps(body, ensure_ascii=False).encode()  # a lone "\ud800" escape is not text
        return body
    except (ValueError, RecursionError) as e:  # UnicodeError is a ValueError
        raise APIError(
            400, f"the request body is not valid JSON: {e}", code="invalid_json"
        ) from None


def key_check(app, keys: Sequence[bytes]):
    """ASGI middleware: a key (Bearer or X-Api-Key) in constant time; OPTIONS, PUBLIC, CARDS go."""

    async def check(scope, receive, send) -> None:
        headers = dict(scope.get("headers", ()))
        given = headers.get(b"authorization") or headers.get(b"x-api-key") or b""
        given = given[7:].strip() if given[:7].lower() == b"bearer " else given  # (or bare)
        ok = any([hmac.compare_digest(given, k) for k in keys]) and given  # (each compared)
        free = scope["type"] == "lifespan" or scope.get("method") == "OPTIONS"
        if free or ok or (path := scope["path"]) in PUBLIC or path.startswith(CARDS):
            return await app(scope, receive, send)
        if scope["type"] == "websocket":  # no key: closed before the handshake (an HTTP 403)
            return await send({"type": "websocket.close", "code": 1008})
        said = "invalid API key" if given else "no API key: send 'Authorization: Bearer KEY'"
        e = APIError(401, said, type="authentication_error", code="invalid_api_key")
        await error_response(e)(scope, receive, send)

    return check


def _check_template(req: GenRequest, registry: Registry) -> None:
    """A chat request's ``chat_template_kwargs``: the template's variables, tried with the
    server's on the model's template (cheap: the template is the server's, as llama.cpp's
    server keeps it; mlx_lm.server renders one a client sends)."""
    name = "chat_template_kwargs"
    if "chat_template" in (req.template or {}):
        msg = f"'{name}' cannot set chat_template: the server applies the model's own"
        raise APIError(400, msg, param=name)
    try:
        args = {**registry.chat_template_args, **req.template} if req.template else None
        template_args(args, f"'{name}'", registry.tokenizer)
    except UsageError as e:
        raise APIError(400, str(e), param=name) from None


def _timeout(limits: Limits) -> APIError:
    msg = f"the request took longer than the server's {limits.timeout_s:g} s timeout"
    return APIError(504, msg, type="timeout_error", code="timeout")


class Completions:
    """The two completion endpoints, sharing one path from request to pieces."""

    def __init__(self, registry: Registry, scheduler: Scheduler, limits: Limits):
        self.registry, self.scheduler, self.limits = registry, scheduler, limits
        self.fingerprint = getattr(registry, "fingerprint", None)  # (OpenAI's may be null)

    async def chat(self, request: Request) -> Response:
        return await self._serve(request, chat=True)

    async def text(self, request: Request) -> Response:
        return await self._serve(request, chat=False)

    async def _serve(self, request: Request, chat: bool) -> Response:
        limits = self.limits
        req = parse_request(await read_json(request, limits.max_body_bytes), chat, limits)
        req.model = req.model or self.registry.model_id  # none named: the one served
        self.registry.resolve(req.model)  # 404 before queueing
        _check_template(req, self.registry)  # 400 before queueing
        client = req.user or f"{_host(request)} {request.headers.get('authorization', '')}"
        gen = lambda: self.registry.generate(req, job.check)  # noqa: E731 (job is set below)
        job = Job(client, gen, asyncio.get_running_loop())
        try:
            self.scheduler.submit(job)
        except QueueFull as e:
            raise _as_api_error(e) from e
        deadline = time.monotonic() + limits.timeout_s
        watcher, response = asyncio.create_task(job.watch(request.receive)), None
        try:
            kind, value = await job.next(deadline)
            if kind != "item":  # an error before the first piece: a plain error answer
                job.cancel()
                if kind == "timeout":
                    return error_response(_timeout(limits))
                if kind == "disconnect":
                    return Response(status_code=499)
                return error_response(_as_api_error(value))
            if req.stream:  # the watcher goes on: the stream stops it when it ends
                response = EventStream(self._sse(req, job, value, deadline), watcher)
                return response
            return await self._whole(req, job, value, deadline)
        except asyncio.CancelledError:  # the server stops (its grace period is over): the job
            job.cancel()  # too, and the client hears why (a 503, not a 500 and a traceback)
            return error_response(_as_api_error(QueueFull("the server is shutting down")))
        finally:
            if response is None:
                watcher.cancel()

    async def _whole(self, req: GenRequest, job: Job, piece: Piece, deadline: float) -> Response:
        text, tokens = "", []
        while True:
            text, tokens = text + piece.text, tokens + piece.logprobs
            if piece.finish_reason is not None:
                break
            kind, value = await job.next(deadline)
            if kind == "timeout":
                return error_response(_timeout(self.limits))
            if kind == "disconnect":
                return Response(status_code=499)
            if kind == "error":
                return error_response(_as_api_error(value))
            piece = value
        rid, usage = _id(req), _usage(piece)
        if req.chat:
            choice = {"index": 0, "message": {"role": "assistant", "content": text}}
        else:
            choice = {"index": 0, "text": text}
        choice.update(finish_reason=piece.finish_reason, logprobs=_logprobs(req, tokens))
        kind = "chat.completion" if req.chat else "text_completion"
        body = _envelope(req, rid, kind, self.fingerprint)
        body.update(choices=[choice], usage=usage, mlx_ifp=piece.info)
        return JSONResponse(body)

    async def _sse(self, req: GenRequest, job: Job, piece: Piece, deadline: float):
        kind = "chat.completion.chunk" if req.chat else "text_completion"
        head = _envelope(req, _id(req), kind, self.fingerprint)  # one id and one created
        if req.include_usage:  # OpenAI's: null on every chunk but the last, the usage one
            head["usage"] = None

        def chunk(text: str | None, finish: str | None = None, tokens=None, **extra) -> str:
            if req.chat:
                delta = {} if text is None else {"content": text}
                choice = {"index": 0, "delta": delta}
            else:
                choice = {"index": 0, "text": text or ""}
            logprobs = None if text is None else _logprobs(req, tokens or [])
            choice.update(finish_reason=finish, logprobs=logprobs)
            body = {**head, "choices": [choice], **extra}
            return f"data: {json.dumps(body)}\n\n"

        try:
            if req.chat:
                yield f"data: {json.dumps({**head, 'choices': [_role_delta()]})}\n\n"
            while True:
                if piece.finish_reason is not None:
                    if piece.text or piece.logprobs:
                        yield chunk(piece.text, tokens=piece.logprobs)
                    yield chunk(None, piece.finish_reason, mlx_ifp=piece.info)
                    if req.include_usage:
                        body = {**head, "choices": [], "usage": _usage(piece)}
                        yield f"data: {json.dumps(body)}\n\n"
                    break
                if piece.text:
                    yield chunk(piece.text, tokens=piece.logprobs)
                try:
                    event, value = await job.next(deadline)
                except asyncio.CancelledError:  # the server stops: the client hears why
                    event, value = "error", QueueFull("the server is shutting down")
                if event in ("timeout", "error"):
                    e = _timeout(self.limits) if event == "timeout" else _as_api_error(value)
                    yield f"data: {json.dumps(e.body())}\n\n"
                    break
                if event != "item":
                    break
                piece = value
            yield "data: [DONE]\n\n"
        finally:  # the client went away (or the stream ended): stop generating
            job.cancel()


class EventStream(StreamingResponse):
    """Server-sent events sent by the request's own task, as a plain answer is: the request's
    watcher sees the client go (and cancels the job), and a server stopping mid-stream cancels
    this task once, so the stream still ends with an error event and ``[DONE]``. (Starlette's
    own disconnect task group cancels every later send: a cut-off body and a traceback.)"""

    def __init__(self, events: AsyncIterator[str], watcher: asyncio.Task):
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        super().__init__(events, media_type="text/event-stream", headers=headers)
        self.watcher = watcher

    async def __call__(self, scope, receive, send) -> None:
        try:
            await self.stream_response(send)
        finally:
            self.watcher.cancel()


def _logprobs(req: GenRequest, tokens: list[dict]) -> dict | None:
    """OpenAI's ``logprobs`` of a choice: chat's ``content`` list, or the completions' four
    lists (``text_offset`` counts from the start of the completion: there is no echo)."""
    if req.logprobs is None:
        return None
    if not req.chat:
        return {
            "tokens": [t["token"] for t in tokens],
            "token_logprobs": [t["logprob"] for t in tokens],
            "top_logprobs": [_first(t["top"]) for t in tokens],
            "text_offset": [t["offset"] for t in tokens],
        }

    def one(token: str, raw: list[int], logprob: float) -> dict:
        return {"token": token, "logprob": logprob, "bytes": raw}

    content = [{**one(t["token"], t["bytes"], t["logprob"]),
                "top_logprobs": [one(*x) for x in t["top"]]} for t in tokens]  # fmt: skip
    return {"content": content, "refusal": None}


def _first(top: list[tuple]) -> dict:
    """The completions' alternatives as one object: tokens of one text (parts of characters,
    all U+FFFD) keep the first, most likely, log-probability."""
    out: dict[str, float] = {}
    for token, _, logprob in top:
        out.setdefault(token, logprob)
    return out


def _role_delta() -> dict:
    delta = {"role": "assistant", "content": ""}
    return {"index": 0, "delta": delta, "finish_reason": None, "logprobs": None}


def _host(request: Request) -> str:
    return request.client.host if request.client else "?"


def _id(req: GenRequest) -> str:
    return ("chatcmpl-" if req.chat else "cmpl-") + uuid.uuid4().hex[:24]


def _envelope(req: GenRequest, rid: str, kind: str, fingerprint: str | None) -> dict:
    head = {"id": rid, "object": kind, "created": int(time.time()), "model": req.model}
    return {**head, "system_fingerprint": fingerprint}  # OpenAI's: the backend's versions


def _usage(piece: Piece) -> dict:
    p, c = piece.prompt_tokens, piece.completion_tokens
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


def create_app(
    registry: Registry,
    limits: Limits | None = None,
    scheduler: Scheduler | None = None,
    cors_origins: Sequence[str] = ("*",),
    api_keys: Sequence[str] | str = (),
) -> Starlette:
    """The Starlette app serving ``registry``; the scheduler's worker runs during its lifespan.
    Browsers on ``cors_origins`` (``*``: any, as mlx-lm's and llama.cpp's servers allow; none:
    no CORS headers) may call it. ``api_keys``: a request needs one (``key_check``)."""
    keys = [api_keys] if isinstance(api_keys, str) else list(api_keys)
    if not all(keys):  # an empty key would let in a request with an empty one
        raise UsageError("an API key cannot be empty")
    limits = limits or Limits()
    scheduler = scheduler or Scheduler(limits.max_queue, client_error)
    completions = Completions(registry, scheduler, limits)

    def model_card(model_id: str) -> dict:
        card = {"id": model_id, "object": "model", "created": CREATED, "owned_by": "mlx_ifp"}
        return {**card, "mlx_ifp": registry.describe(model_id)}

    async def models(request: Request) -> Response:
        data = [model_card(m) for m in registry.model_ids()]
        return JSONResponse({"object": "list", "data": data})

    async def model(request: Request) -> Response:
        model_id = request.path_params["model_id"]
        registry.resolve(model_id)
        return JSONResponse(model_card(model_id))

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", **scheduler.counts()})

    async def api_error(request: Request, e: Exception) -> Response:
        return error_response(e)  # type: ignore[arg-type]

    async def http_error(request: Request, e: Exception) -> Response:
        status = getattr(e, "status_code", 500)  # an unknown path: OpenAI's 404 and words
        said = f"Invalid URL ({request.method} {request.url.path})" if status == 404 else None
        response = error_response(APIError(status, said or str(getattr(e, "detail", e))))
        response.headers.update(getattr(e, "headers", None) or {})  # a 405's Allow
        return response

    async def server_error(request: Request, e: Exception) -> Response:
        return error_response(_as_api_error(e))

    routes = []
    for prefix in ("/v1", ""):  # llama.cpp's server answers both; clients set either base URL
        routes += [
            Route(f"{prefix}/health", health, methods=["GET"]),
            Route(f"{prefix}/chat/completions", completions.chat, methods=["POST"]),
            Route(f"{prefix}/completions", completions.text, methods=["POST"]),
            Route(f"{prefix}/models", models, methods=["GET"]),
            Route(f"{prefix}/models/{{model_id:path}}", model, methods=["GET"]),
        ]
    handlers = {APIError: api_error, HTTPException: http_error, Exception: server_error}
    # a named public page calling a local server: Chrome's Private Network Access preflight is
    # granted; to "*" (any page) it stays refused. Starlette < 0.51 (pyproject: >= 0.37) has no
    # such option (a TypeError on every request): there no grant is sent, as before the option
    pna = "allow_private_network" in inspect.signature(CORSMiddleware).parameters
    pna = {"allow_private_network": "*" not in cors_origins} if pna else {}
    cors = Middleware(
        CORSMiddleware, allow_origins=list(cors_origins), allow_methods=["*"], allow_headers=["*"],
        **pna,
    )  # fmt: skip
    middleware = [cors] if cors_origins else []  # outside the key check: a 401 reaches the page
    middleware += [Middleware(key_check, keys=[k.encode() for k in keys])] if keys else []
    app = Starlette(
        routes=routes,
        exception_handlers=handlers,
        middleware=middleware,
        lifespan=lambda app: scheduler.running(),  # the worker runs while the server does
    )
    app.state.registry, app.state.scheduler, app.state.limits = registry, scheduler, limits
    return app
