"""Fixtures of the explore page's tests: a server on 127.0.0.1 in a thread of this process, and
Debian's Chromium driven by Playwright, with every request to another host aborted (and the test
failed) and every JavaScript error collected (and the test failed)."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from treemarket.explore.server import bind, create_app, new_token, page_url, server


def chromium_path() -> str | None:
    """The Chromium to drive: ``TREEMARKET_CHROMIUM``, else ``chromium`` on the PATH."""
    return os.environ.get("TREEMARKET_CHROMIUM") or shutil.which("chromium")


@dataclass
class Served:
    """A running explore server."""

    url: str
    base: str
    token: str
    port: int
    file: Path | None
    stop: Callable[[], None]


def start_server(file: Path | None) -> Served:
    """Start an explore server in a thread; ``stop()`` ends it."""
    sock = bind(0)
    port = sock.getsockname()[1]
    token = new_token()
    srv = server(create_app(file, token, port))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.02)

    def stop() -> None:
        srv.should_exit = True
        thread.join(timeout=10)
        sock.close()

    return Served(page_url(port, token), f"http://127.0.0.1:{port}", token, port, file, stop)


@pytest.fixture
def serve() -> Iterator[Callable[[Path | None], Served]]:
    """A factory of servers, each stopped after the test."""
    started: list[Served] = []

    def make(file: Path | None) -> Served:
        started.append(start_server(file))
        return started[-1]

    yield make
    for s in started:
        s.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Chromium under Playwright; skipped without Chromium, but failed when ``CI`` is set."""
    path = chromium_path()
    if path is None:
        message = (
            "no Chromium: the browser tests need Debian's chromium (make browser installs it) "
            "or TREEMARKET_CHROMIUM set to a Chromium executable"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    args = ["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=path, args=args)
        yield chromium
        chromium.close()


@dataclass
class Watch:
    """What a page did: the requests it made, those to other hosts, its JavaScript errors."""

    requests: list[str] = field(default_factory=list)
    elsewhere: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def page(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A fresh page; any request to a host other than 127.0.0.1 is aborted and fails the test,
    and so does any JavaScript error (uncaught, or logged to the console as an error)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    watch = Watch()

    def route(r: Any) -> None:
        url = r.request.url
        watch.requests.append(url)
        host = urlsplit(url).hostname
        if url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            r.continue_()
        else:
            watch.elsewhere.append(url)
            r.abort()

    context.route("**/*", route)
    pg = context.new_page()
    pg.on("pageerror", lambda exc: watch.errors.append(f"pageerror: {exc}"))
    pg.on(
        "console",
        lambda msg: watch.errors.append(f"console: {msg.text}") if msg.type == "error" else None,
    )
    pg.watch = watch
    pg.shots = tmp_path_factory.mktemp("screenshots")
    yield pg
    context.close()
    assert not watch.elsewhere, f"requests left the machine: {watch.elsewhere}"
    assert not watch.errors, f"JavaScript errors: {watch.errors}"
    assert watch.requests and all(
        urlsplit(u).hostname == "127.0.0.1" for u in watch.requests if u.startswith("http")
    )
