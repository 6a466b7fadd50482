"""`treemarket explore`: the local web page to load, edit, solve and see a model."""

from __future__ import annotations

import webbrowser
from pathlib import Path

import typer

from treemarket.cli._common import console


def explore_command(
    file: Path | None = typer.Argument(
        None, help="Model file (TTP or intermediation) to open and save to.", show_default=False
    ),
    no_browser: bool = typer.Option(False, "--no-browser", help="Do not open a browser."),
    port: int = typer.Option(0, "--port", help="Port on 127.0.0.1 (0: a free one)."),
) -> None:
    """Start the local page on 127.0.0.1 and print its address (with its access token); runs
    until interrupted (Ctrl-C). Nothing is fetched from outside the machine."""
    from treemarket.explore.api import load_text
    from treemarket.explore.server import bind, create_app, new_token, page_url, server
    from treemarket.io.common import read_document

    if file is not None:
        read_document(file)  # a file that cannot be read: the usual one-line error
        load_text(file.read_text(encoding="utf-8"), str(file))  # and so is a bad model
    if not 0 <= port <= 65535:
        raise typer.BadParameter("must be between 0 and 65535", param_hint="--port")
    sock = bind(port)
    bound = sock.getsockname()[1]
    token = new_token()
    url = page_url(bound, token)
    console.print(url, markup=False, soft_wrap=True, highlight=False)
    if not no_browser:
        webbrowser.open(url)
    try:
        server(create_app(file, token, bound)).run(sockets=[sock])
    finally:
        sock.close()
