"""The explore page's server: a Starlette app on 127.0.0.1 behind a guard (the Host and Origin
headers, a per-process token on every API request), its JSON endpoints and the runner."""

from __future__ import annotations

import contextlib
import json
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from treemarket.errors import ModelError
from treemarket.explore import api
from treemarket.explore.jobs import Jobs
from treemarket.intermediation.tree import IntermediationTree

TOKEN_HEADER = "x-treemarket-token"
LOOPBACK = "127.0.0.1"
STATIC = Path(str(resources.files("treemarket.explore") / "static"))
# the page loads nothing from elsewhere: scripts, styles, pictures and requests are its own
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; img-src 'self' data: blob:; "
    "style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}


class Guard:
    """ASGI middleware: refuse (403) a request whose Host is not this server's loopback address,
    whose Origin (when sent) is not the page's own, or, for the page and the API, that lacks
    the token (``?token=`` or the ``X-Treemarket-Token`` header)."""

    def __init__(self, app: ASGIApp, token: str, port: int) -> None:
        self.app = app
        self.token = token
        self.hosts = {f"{LOOPBACK}:{port}", f"localhost:{port}"}
        self.origins = {f"http://{host}" for host in self.hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        reason = self.refusal(scope, headers)
        if reason is not None:
            await JSONResponse({"error": reason}, status_code=403)(scope, receive, send)
            return

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, secured)

    def refusal(self, scope: Scope, headers: dict[str, str]) -> str | None:
        """Why the request is refused, or None."""
        if headers.get("host") not in self.hosts:
            return "unknown host"
        origin = headers.get("origin")
        if origin is not None and origin not in self.origins:
            return "cross-origin request"
        path = scope["path"]
        if path == "/" or path.startswith("/api/"):
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            given = headers.get(TOKEN_HEADER) or (query.get("token") or [""])[0]
            if not secrets.compare_digest(given.encode(), self.token.encode()):
                return "missing or wrong token"
        return None


def create_app(file: Path | None, token: str, port: int) -> ASGIApp:
    """The explore app for ``file`` (None: start from a bundled example), guarded for
    ``127.0.0.1:port`` and ``token``."""
    from treemarket.examples import example_path

    jobs = Jobs()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        jobs.warm()
        yield
        jobs.close()

    async def body(request: Request) -> dict[str, Any]:
        try:
            data = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            data = None
        if not isinstance(data, dict):
            raise ModelError("the request must be a JSON object")
        return data

    def guarded(
        handler: Callable[[dict[str, Any]], Any],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                data = await body(request) if request.method == "POST" else {}
                out = await run_in_threadpool(handler, data)
            except ModelError as exc:  # an answer of its own (the browser logs no failure)
                return JSONResponse({"error": api.error_json(exc)})
            if isinstance(out, Response):
                return out
            return JSONResponse(out)

        return endpoint

    def text_of(data: dict[str, Any]) -> tuple[str, str | None]:
        text = data.get("text")
        if not isinstance(text, str):
            raise ModelError("the request needs the model's text")
        name = data.get("file")
        return text, name if isinstance(name, str) and name else None

    def start(data: dict[str, Any]) -> dict[str, Any]:
        """The text to start from: the file, or the bundled weather example."""
        path = file if file is not None else example_path("weather.yaml")
        return {
            "file": str(path),
            "text": path.read_text(encoding="utf-8"),
            "can_save": file is not None,
            "examples": _examples(),
        }

    def example(data: dict[str, Any]) -> dict[str, Any]:
        name = data.get("name")
        if name not in _examples():
            raise ModelError("no such bundled example", place="name")
        path = example_path(str(name))
        return {"file": str(path), "text": path.read_text(encoding="utf-8")}

    def check(data: dict[str, Any]) -> dict[str, Any]:
        return api.model_json(api.load_text(*text_of(data)))

    def edit(data: dict[str, Any]) -> dict[str, Any]:
        text, _ = text_of(data)
        place = data.get("place")
        value = data.get("value")
        if not isinstance(place, list) or not all(isinstance(p, str | int) for p in place):
            raise ModelError("the request needs the place to edit")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ModelError("must be a number", place="value")
        return {"text": api.edit_text(text, place, float(value))}

    def save(data: dict[str, Any]) -> dict[str, Any]:
        from treemarket.io.common import write_text

        if file is None:
            raise ModelError("started without a file: download the model instead")
        text, name = text_of(data)
        if name != str(file):
            raise ModelError(f"this text is not {file}'s (an example was opened): download it")
        api.load_text(text, str(file))  # only a valid model is written over the file
        write_text(file, text)
        return {"wrote": str(file)}

    def solve(data: dict[str, Any]) -> dict[str, Any]:
        text, name = text_of(data)
        method = data.get("method", "auto")
        if method not in ("auto", "exact", "market"):
            raise ModelError("must be exact, market or auto", place="method")
        api.load_text(text, name)  # the model's errors now, not from the solve process
        return {"job": jobs.start(text, name, str(method))}

    def compare(data: dict[str, Any]) -> dict[str, Any]:
        text, name = text_of(data)
        api.load_text(text, name)
        return {"job": jobs.start(text, name, "auto", task="compare")}

    def intermediation(data: dict[str, Any]) -> dict[str, Any]:
        text, name = text_of(data)
        loaded = api.load_text(text, name)
        if not isinstance(loaded.model, IntermediationTree):
            raise ModelError("not an intermediation model", file=name)
        return api.intermediation_json(loaded.model, str(data.get("rule", "leximin")), name)

    def study(data: dict[str, Any]) -> dict[str, Any]:
        path = data.get("path")
        if not isinstance(path, str) or not path:
            raise ModelError("give the path of a study file", place="path")
        return api.study_json(path)

    def status_of(job: str, cancel: bool) -> Response:
        out = jobs.cancel(job) if cancel else jobs.status(job)
        if out is None:
            return JSONResponse({"error": {"message": "no such solve", "line": None}}, 404)
        return JSONResponse(out)

    async def job_status(request: Request) -> Response:
        return await run_in_threadpool(status_of, request.path_params["job"], False)

    async def job_cancel(request: Request) -> Response:
        return await run_in_threadpool(status_of, request.path_params["job"], True)

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html")

    routes = [
        Route("/", index),
        Route("/api/start", guarded(start), methods=["POST"]),
        Route("/api/example", guarded(example), methods=["POST"]),
        Route("/api/check", guarded(check), methods=["POST"]),
        Route("/api/edit", guarded(edit), methods=["POST"]),
        Route("/api/save", guarded(save), methods=["POST"]),
        Route("/api/solve", guarded(solve), methods=["POST"]),
        Route("/api/intermediation", guarded(intermediation), methods=["POST"]),
        Route("/api/study", guarded(study), methods=["POST"]),
        Route("/api/compare", guarded(compare), methods=["POST"]),
        Route("/api/jobs/{job}", job_status, methods=["GET"]),
        Route("/api/jobs/{job}/cancel", job_cancel, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    return Guard(Starlette(routes=routes, lifespan=lifespan), token, port)


def _examples() -> list[str]:
    """The bundled model files the page can open (TTP and intermediation, not studies)."""
    from treemarket.examples import bundled_examples

    return [n for n in bundled_examples() if n.endswith(".yaml") and not n.startswith("study")]


def bind(port: int = 0) -> socket.socket:
    """A listening socket on 127.0.0.1 (``port`` 0: a free one)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((LOOPBACK, port))
    except OSError as exc:
        sock.close()
        message = f"cannot listen on {LOOPBACK}:{port}: {exc.strerror}"
        raise ModelError(message, place="--port") from None
    sock.listen(64)
    return sock


def page_url(port: int, token: str) -> str:
    """The page's address with its token."""
    return f"http://{LOOPBACK}:{port}/?token={token}"


def server(app: ASGIApp) -> Any:
    """A uvicorn server for ``app`` (run it with ``.run(sockets=[sock])``), quiet."""
    import uvicorn

    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    return uvicorn.Server(config)


def new_token() -> str:
    """A fresh random access token."""
    return secrets.token_urlsafe(24)
