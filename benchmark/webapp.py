"""The ``sedbench annotate`` web app: a Starlette ASGI app over an
:class:`~sedal.benchmark.annotate.AnnotationSession`, served by uvicorn.

Security (it serves files from the user's disk):

- every request carries the session's random token: the ``token`` query parameter of the
  printed URL, after which the page holds it in an HttpOnly, SameSite=Strict cookie, or the
  ``X-Sedal-Token`` header;
- requests that change anything (PUT/POST) need the header (a cookie alone is not enough,
  so a link or a form on another site cannot save or export);
- only recordings found below ``--audio`` are served, by their exact relative path, and
  only label files below ``--labels`` are written (:func:`sedal.core.fsutil.resolve_inside`);
- the Host header must name the address the app was bound to (no DNS rebinding).
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

from sedal.core.errors import SedalError, UnsafePathError

from .annotate import AnnotationSession, RefitWorker

STATIC = Path(__file__).with_name("static")
COOKIE = "sedal_token"
HEADER = "x-sedal-token"


class TokenMiddleware:
    """Refuse every request without the token (pure ASGI middleware)."""

    def __init__(self, app, token: str):
        self.app = app
        self.token = token

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request = Request(scope)
        header = request.headers.get(HEADER, "")
        ok_header = hmac.compare_digest(header, self.token) if header else False
        query = request.query_params.get("token", "")
        cookie = request.cookies.get(COOKIE, "")
        ok_read = ok_header or (query and hmac.compare_digest(query, self.token)) or (
            cookie and hmac.compare_digest(cookie, self.token))
        if request.method in ("GET", "HEAD"):
            allowed = bool(ok_read)
        else:
            allowed = ok_header
        if not allowed:
            response = JSONResponse({"error": "missing or wrong token"}, status_code=403)
            return await response(scope, receive, send)
        return await self.app(scope, receive, send)


def create_app(session: AnnotationSession, token: str, *, out: Path,
               hosts: list[str] | None = None, worker: RefitWorker | None = None) -> Starlette:
    """The ASGI app. ``out`` receives exports; ``hosts`` are the accepted Host names."""
    worker = worker or RefitWorker(session)

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    async def index(request: Request) -> Response:
        html = (STATIC / "annotate.html").read_text(encoding="utf-8")
        response = HTMLResponse(html, headers={"Cache-Control": "no-store",
                                               "Referrer-Policy": "no-referrer"})
        if request.query_params.get("token"):
            response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
        return response

    def refit_state() -> dict:
        return {"refitting": worker.busy or session.stale(), "refit_error": worker.error}

    async def queue(request: Request) -> Response:
        return JSONResponse({**session.queue(), **refit_state()})

    async def status(request: Request) -> Response:
        """What the page polls: small, so that a large queue is fetched only on a change."""
        return JSONResponse({"version": session.version,
                             "model_version": session.model_version, **refit_state()})

    def _rel(request: Request) -> str:
        return request.query_params.get("rel", "")

    async def view(request: Request) -> Response:
        try:
            return JSONResponse(session.view(_rel(request)))
        except UnsafePathError:
            return error(404, "no such recording")

    async def audio(request: Request) -> Response:
        try:
            rec = session.recording(_rel(request))
        except UnsafePathError:
            return error(404, "no such recording")
        return FileResponse(rec.path, headers={"Cache-Control": "no-store"})

    async def save(request: Request) -> Response:
        try:
            body = json.loads(await request.body() or b"null")
            res = session.save(_rel(request), body.get("events") if isinstance(body, dict)
                               else None)
        except UnsafePathError:
            return error(404, "no such recording")
        except (SedalError, ValueError) as exc:
            return error(400, str(exc))
        worker.nudge()
        return JSONResponse(res)

    async def draft(request: Request) -> Response:
        try:
            body = json.loads(await request.body() or b"null")
            return JSONResponse(session.save_draft(
                _rel(request), body.get("events") if isinstance(body, dict) else None))
        except UnsafePathError:
            return error(404, "no such recording")
        except (SedalError, ValueError) as exc:
            return error(400, str(exc))

    async def export(request: Request) -> Response:
        try:
            return JSONResponse(session.export(out))
        except (SedalError, OSError) as exc:
            return error(400, str(exc))

    routes = [
        Route("/", index),
        Route("/api/queue", queue),
        Route("/api/status", status),
        Route("/api/recording", view),
        Route("/api/audio", audio),
        Route("/api/labels", save, methods=["PUT"]),
        Route("/api/draft", draft, methods=["PUT"]),
        Route("/api/export", export, methods=["POST"]),
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
