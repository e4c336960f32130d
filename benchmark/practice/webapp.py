"""The ``sedbench annotate`` web app: a Starlette ASGI app over an
:class:`~sedal.benchmark.practice.annotate.AnnotationSession`, served by uvicorn.

Security (it serves files from the user's disk):

- every request carries the session's random token: the ``token`` query parameter of the
  printed URL, after which the page holds it in an HttpOnly, SameSite=Strict cookie, or the
  ``X-Sedal-Token`` header;
- requests that change anything (PUT/POST) need the header (a cookie alone is not enough,
  so a link or a form on another site cannot save or export);
- only recordings found below ``--audio`` are served, by their exact relative path, and
  only label files below ``--labels`` are written (:func:`sedal.core.fsutil.resolve_inside`);
- the Host header must name the address the app was bound to (no DNS rebinding);
- request bodies are limited: at most :data:`MAX_BODY_BYTES`, JSON nested at most
  :data:`MAX_JSON_DEPTH` deep, integers of at most :data:`MAX_INT_DIGITS` digits, no
  NaN/Infinity; anything else is a 4xx with a one-line JSON ``error``, never a 500.
"""

from __future__ import annotations

import hmac
import json
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from sedal.benchmark.practice.annotate import AnnotationSession
from sedal.benchmark.practice.refit import RefitWorker
from sedal.core.errors import SedalError, UnsafePathError

STATIC = Path(__file__).with_name("static")
COOKIE = "sedal_token"
HEADER = "x-sedal-token"
#: The largest request body the app reads, in bytes (10 000 events are about 0.7 MB).
MAX_BODY_BYTES = 2 * 1024 * 1024
#: The deepest JSON nesting a body may have (the app's own bodies nest 3 deep).
MAX_JSON_DEPTH = 32
#: The most digits an integer in a body may have.
MAX_INT_DIGITS = 20


class BodyError(ValueError):
    """A request body the app refuses; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _same_token(given: str, token: bytes) -> bool:
    """Constant-time comparison on bytes: any text (non-ASCII too) is a wrong token, never
    an error."""
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), token)


def _json_depth(raw: bytes) -> int:
    """The deepest bracket nesting of a JSON text (brackets inside strings not counted)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in raw:
        if in_string:
            if escaped:
                escaped = False
            elif ch == 0x5C:  # backslash
                escaped = True
            elif ch == 0x22:  # quote
                in_string = False
        elif ch == 0x22:
            in_string = True
        elif ch in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif ch in (0x5D, 0x7D):
            depth -= 1
    return deepest


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise BodyError(400, f"a number in the body has more than {MAX_INT_DIGITS} digits")
    return int(text)


def _refuse_constant(name: str):
    raise BodyError(400, f"{name} is not a number the app accepts")


async def read_json_body(request: Request):
    """The request's JSON body (``None`` when empty), within the limits above.

    Raises
    ------
    BodyError
        413 for a body over :data:`MAX_BODY_BYTES`, 400 for anything that is not UTF-8 JSON
        within the depth and number limits.
    """
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        raise BodyError(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BodyError(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        return None
    if _json_depth(raw) > MAX_JSON_DEPTH:
        raise BodyError(400, f"the body is nested more than {MAX_JSON_DEPTH} deep")
    try:
        return json.loads(raw.decode("utf-8"), parse_int=_parse_int,
                          parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        raise BodyError(400, "the body is not UTF-8") from None
    except (json.JSONDecodeError, RecursionError):
        raise BodyError(400, "the body is not valid JSON") from None


class TokenMiddleware:
    """Refuse every request without the token (pure ASGI middleware)."""

    def __init__(self, app, token: str):
        self.app = app
        self.token = token.encode("utf-8")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request = Request(scope)
        header = request.headers.get(HEADER, "")
        ok_header = _same_token(header, self.token) if header else False
        query = request.query_params.get("token", "")
        cookie = request.cookies.get(COOKIE, "")
        ok_read = ok_header or (query and _same_token(query, self.token)) or (
            cookie and _same_token(cookie, self.token))
        if request.method in ("GET", "HEAD"):
            allowed = bool(ok_read)
        else:
            allowed = ok_header
        if not allowed:
            response = JSONResponse({"error": "missing or wrong token"}, status_code=403)
            return await response(scope, receive, send)
        return await self.app(scope, receive, send)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class _Endpoints:
    """The app's request handlers over one session (token checks are the middleware's)."""

    def __init__(self, session: AnnotationSession, token: str, out: Path,
                 worker: RefitWorker):
        self.session, self.token, self.out, self.worker = session, token, out, worker

    async def index(self, request: Request) -> Response:
        html = (STATIC / "annotate.html").read_text(encoding="utf-8")
        response = HTMLResponse(html, headers={"Cache-Control": "no-store",
                                               "Referrer-Policy": "no-referrer"})
        if request.query_params.get("token"):
            response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict")
        return response

    def refit_state(self) -> dict:
        return {"refitting": self.worker.busy or self.session.stale(),
                "refit_error": self.worker.error}

    async def queue(self, request: Request) -> Response:
        return JSONResponse({**self.session.queue(), **self.refit_state()})

    async def status(self, request: Request) -> Response:
        """What the page polls: small, so that a large queue is fetched only on a change."""
        return JSONResponse({"version": self.session.version,
                             "model_version": self.session.model_version,
                             **self.refit_state()})

    async def view(self, request: Request) -> Response:
        try:
            return JSONResponse(self.session.view(request.query_params.get("rel", "")))
        except UnsafePathError:
            return _error(404, "no such recording")

    async def audio(self, request: Request) -> Response:
        try:
            rec = self.session.recording(request.query_params.get("rel", ""))
        except UnsafePathError:
            return _error(404, "no such recording")
        return FileResponse(rec.path, headers={"Cache-Control": "no-store"})

    async def _with_body(self, request: Request, handle) -> Response:
        """``handle(body)`` with the request's JSON body; refusals as one-line JSON (404 for a
        recording outside the session, 4xx for the body, 400 for what the session refuses)."""
        try:
            return JSONResponse(handle(await read_json_body(request)))
        except UnsafePathError:
            return _error(404, "no such recording")
        except BodyError as exc:
            return _error(exc.status, str(exc))
        except (SedalError, ValueError, OverflowError) as exc:
            return _error(400, str(exc))

    async def _put_events(self, request: Request, write) -> Response:
        """``write(rel, events)`` with the events of a JSON body; errors as one-line JSON."""
        rel = request.query_params.get("rel", "")
        return await self._with_body(request, lambda body: write(
            rel, body.get("events") if isinstance(body, dict) else None))

    async def save(self, request: Request) -> Response:
        response = await self._put_events(request, self.session.save)
        if response.status_code == 200:
            self.worker.nudge()
        return response

    async def draft(self, request: Request) -> Response:
        return await self._put_events(request, self.session.save_draft)

    async def clip_status(self, request: Request) -> Response:
        """``PUT /api/clip?rel=...`` with ``{"status": "skipped" | "unsure" | "needs review" |
        null}``."""
        rel = request.query_params.get("rel", "")

        def handle(body):
            if not isinstance(body, dict) or "status" not in body:
                raise BodyError(400, 'expected {"status": ...}')
            return self.session.set_status(rel, body["status"])
        return await self._with_body(request, handle)

    async def review_items(self, request: Request) -> Response:
        from starlette.concurrency import run_in_threadpool

        return JSONResponse(await run_in_threadpool(self.session.review_items))

    async def review(self, request: Request) -> Response:
        return await self._with_body(request, self.session.review)

    async def export(self, request: Request) -> Response:
        try:
            return JSONResponse(self.session.export(self.out))
        except (SedalError, OSError) as exc:
            return _error(400, str(exc))


def create_app(session: AnnotationSession, token: str, *, out: Path,
               hosts: list[str] | None = None, worker: RefitWorker | None = None) -> Starlette:
    """The ASGI app. ``out`` receives exports; ``hosts`` are the accepted Host names."""
    worker = worker or RefitWorker(session)
    ep = _Endpoints(session, token, out, worker)
    routes = [
        Route("/", ep.index),
        Route("/api/queue", ep.queue),
        Route("/api/status", ep.status),
        Route("/api/recording", ep.view),
        Route("/api/audio", ep.audio),
        Route("/api/labels", ep.save, methods=["PUT"]),
        Route("/api/draft", ep.draft, methods=["PUT"]),
        Route("/api/clip", ep.clip_status, methods=["PUT"]),
        Route("/api/review", ep.review_items),
        Route("/api/review", ep.review, methods=["PUT"]),
        Route("/api/export", ep.export, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=hosts or ["127.0.0.1",
                                                                         "localhost"]),
                  Middleware(TokenMiddleware, token=token)]

    @asynccontextmanager
    async def lifespan(app):
        yield
        worker.stop()

    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.worker = worker
    return app
