"""`treemarket explore`: a bad file is the usual one-line error; the server prints its address
with its token and answers there."""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from treemarket.cli import app
from treemarket.cli._common import run_guarded
from treemarket.examples import example_path


def test_a_bad_file_is_one_line_and_exit_2(tmp_path: Path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: ttp\nbuyers: [A]\nsupply: [1, -1]\n")
    assert run_guarded(app, ["explore", str(bad), "--no-browser"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {bad}:3: supply[1]") and "\n" not in err
    assert run_guarded(app, ["explore", str(tmp_path / "none.yaml"), "--no-browser"]) == 2


def test_the_server_prints_its_tokened_address_and_serves_there(tmp_path: Path):
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from treemarket.cli import main; main()",
            "explore",
            str(example_path("weather.yaml")),
            "--no-browser",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and "?token=" in url
        with urllib.request.urlopen(url, timeout=30) as page:
            assert page.status == 200 and b"treemarket explore" in page.read()
        try:
            urllib.request.urlopen(url.split("?")[0], timeout=30)
            raise AssertionError("the page without its token was served")
        except urllib.error.HTTPError as exc:
            assert exc.code == 403
    finally:
        process.terminate()
        process.wait(timeout=30)
