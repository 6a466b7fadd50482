"""The documentation stays true to the code.

* The site builds with ``mkdocs build --strict`` (a broken API reference or link fails), when the
  ``docs`` extra is installed. ``make docs`` installs it and builds the same site.
* Every ``treemarket ...`` line of a ``sh`` block in the TTP guide runs with exit status 0, in a
  folder holding the bundled examples and the files the guide itself defines (code blocks with
  ``title="NAME"``).
* The guide's ``pycon`` blocks run as doctests there: the numbers it quotes are the numbers the
  library returns.
* Every key that ``docs/json.md`` lists for a command is printed by the commands of its section,
  and every top-level key they print is listed.

The commands run in-process through ``run_guarded``, the function the console script
``treemarket`` (``treemarket.cli:main``) exits with; one test runs the installed script itself.
"""

from __future__ import annotations

import doctest
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from treemarket.cli import app
from treemarket.cli._common import run_guarded
from treemarket.examples import bundled_examples

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
GUIDE = DOCS / "ttp.md"
JSON_PAGE = DOCS / "json.md"
FENCE = re.compile(r"^```(?P<lang>[\w-]*)(?P<info>[^\n]*)\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)
TITLE = re.compile(r'title="([^"]+)"')
SITE_PACKAGES = ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python")


def _fences(text: str, lang: str) -> list[re.Match[str]]:
    return [m for m in FENCE.finditer(text) if m.group("lang") == lang]


def _commands(text: str) -> list[list[str]]:
    """The ``treemarket ...`` lines of the ``sh`` blocks, split like a shell would."""
    out = []
    for block in _fences(text, "sh"):
        for line in block.group("body").splitlines():
            if line.startswith("treemarket "):
                out.append(shlex.split(line, comments=True)[1:])
    return out


def _defined_files(text: str) -> dict[str, str]:
    """The files the page defines: code blocks with ``title="NAME"``."""
    files = {}
    for block in FENCE.finditer(text):
        title = TITLE.search(block.group("info"))
        if title:
            files[title.group(1)] = block.group("body")
    return files


GUIDE_TEXT = GUIDE.read_text(encoding="utf-8")
GUIDE_COMMANDS = _commands(GUIDE_TEXT)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the bundled examples and the guide's own model files."""
    folder = tmp_path_factory.mktemp("models")
    for name, text in {**bundled_examples(), **_defined_files(GUIDE_TEXT)}.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = run_guarded(app, args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_guide_has_commands_files_and_examples() -> None:
    assert len(GUIDE_COMMANDS) >= 20
    assert {"weather-windows.yaml", "weather-carry.yaml"} <= set(_defined_files(GUIDE_TEXT))
    assert len(_fences(GUIDE_TEXT, "pycon")) >= 5


@pytest.mark.parametrize("args", GUIDE_COMMANDS, ids=[" ".join(a) for a in GUIDE_COMMANDS])
def test_guide_command_runs(
    args: list[str],
    models: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(models)
    code, out, err = _run(args, capsys)
    assert code == 0, f"treemarket {' '.join(args)} exited {code}: {err or out}"


def test_guide_python_examples(models: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(models)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    report: list[str] = []
    names: dict[str, object] = {}  # the blocks share their names, like one session
    for block in _fences(GUIDE_TEXT, "pycon"):
        line = GUIDE_TEXT.count("\n", 0, block.start("body"))
        test = doctest.DocTestParser().get_doctest(
            block.group("body"), names, "docs/ttp.md", str(GUIDE), line
        )
        runner.run(test, out=report.append, clear_globs=False)
        names.update(test.globs)
    assert runner.failures == 0, "".join(report)
    assert runner.tries >= 20


def test_console_script_runs_a_guide_command(models: Path) -> None:
    script = shutil.which("treemarket", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("the treemarket console script is not installed next to this Python")
    done = subprocess.run(
        [script, "ttp", "solve", "weather.yaml", "--json"],
        cwd=models,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["welfare"] == pytest.approx(12)


# --- the guide's outputs: what the commands print -------------------------------------------

SHORTENED = "(shortened"  # a text block that starts so quotes part of the output only


def _shown_outputs(text: str) -> list[tuple[str, re.Match[str]]]:
    """(command, text block) for every ``sh`` block of one ``treemarket`` command followed
    directly by a ``text`` block that is not marked shortened."""
    fences = list(FENCE.finditer(text))
    pairs = []
    for command, output in zip(fences, fences[1:], strict=False):
        if command.group("lang") != "sh" or output.group("lang") != "text":
            continue
        lines = [line for line in command.group("body").splitlines() if line.strip()]
        between = text[command.end() : output.start()]
        if len(lines) != 1 or not lines[0].startswith("treemarket ") or between.strip():
            continue
        if not output.group("body").startswith(SHORTENED):
            pairs.append((lines[0], output))
    return pairs


def _printed(command: str, folder: Path) -> str:
    """What the installed console script prints on a 100-column terminal without colour."""
    return _execute(command, folder)[1]


SHOWN = _shown_outputs(GUIDE_TEXT)


@pytest.mark.parametrize("command, block", SHOWN, ids=[c for c, _ in SHOWN])
def test_guide_outputs_are_what_the_commands_print(
    command: str, block: re.Match[str], models: Path
) -> None:
    """Regenerate with ``.venv/bin/python tests/test_docs.py --update``."""
    assert _printed(command, models) == block.group("body")


def _update_guide() -> None:
    """Write the commands' outputs into the guide's text blocks."""
    import tempfile

    folder = Path(tempfile.mkdtemp())
    for name, text in {**bundled_examples(), **_defined_files(GUIDE_TEXT)}.items():
        (folder / name).write_text(text, encoding="utf-8")
    parts, last = [], 0
    for command, block in _shown_outputs(GUIDE_TEXT):
        parts.append(GUIDE_TEXT[last : block.start("body")] + _printed(command, folder))
        last = block.end("body")
    GUIDE.write_text("".join(parts) + GUIDE_TEXT[last:], encoding="utf-8")


# --- docs/json.md: the key tables against what the commands print ---------------------------


def _json_sections() -> list[tuple[str, list[list[str]], list[str]]]:
    """Per ``##`` section of json.md: its title, its commands and the keys of its tables."""
    text = JSON_PAGE.read_text(encoding="utf-8")
    sections = []
    for chunk in re.split(r"^## ", text, flags=re.M)[1:]:
        title = chunk.splitlines()[0].strip("` ")
        keys = re.findall(r"^\| `([^`]+)` \|", chunk, flags=re.M)
        sections.append((title, _commands(chunk), keys))
    return sections


JSON_SECTIONS = _json_sections()


def _has(data: object, path: str) -> bool:
    """Does ``data`` have ``path`` (``a.b``; ``a[].b`` in some row of list a; ``a.*.b`` in some
    value of mapping a)?"""
    head, _, rest = path.partition(".")
    if head.endswith("[]"):
        rows = data.get(head[:-2]) if isinstance(data, dict) else None
        if not isinstance(rows, list):
            return False
        return any(_has(row, rest) for row in rows) if rest else True
    if head == "*":
        return isinstance(data, dict) and any(_has(v, rest) for v in data.values())
    if not isinstance(data, dict) or head not in data:
        return False
    return _has(data[head], rest) if rest else True


def test_json_page_has_a_section_per_command() -> None:
    titles = [title for title, _, _ in JSON_SECTIONS]
    assert titles == [
        "treemarket ttp solve",
        "treemarket ttp simulate",
        "treemarket ttp schedule",
        "treemarket ttp mechanism",
        "treemarket tree build",
        "treemarket tree evaluate",
        "treemarket intermediation solve",
    ]
    for title, commands, keys in JSON_SECTIONS:
        assert commands and keys, title
        assert all("--json" in args for args in commands), title


@pytest.mark.parametrize("section", JSON_SECTIONS, ids=[s[0] for s in JSON_SECTIONS])
def test_json_keys_match_the_commands(
    section: tuple[str, list[list[str]], list[str]],
    models: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    title, commands, keys = section
    monkeypatch.chdir(models)
    outputs = []
    for args in commands:
        code, out, err = _run(args, capsys)
        assert code == 0, f"treemarket {' '.join(args)}: {err}"
        outputs.append(json.loads(out))
    missing = [key for key in keys if not any(_has(data, key) for data in outputs)]
    assert not missing, f"{title}: documented but never printed: {missing}"
    top = {key.partition(".")[0].removesuffix("[]") for key in keys}
    undocumented = sorted({k for data in outputs for k in data} - top)
    assert not undocumented, f"{title}: printed but not documented: {undocumented}"


# --- the site ---------------------------------------------------------------------------------


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a missing parent package
        return False


def test_site_builds_strictly(tmp_path: Path) -> None:
    missing = [name for name in SITE_PACKAGES if not _installed(name)]
    if missing:
        pytest.skip(
            f"the docs extra is not installed (no {', '.join(missing)}): `make docs` installs "
            "it and builds the site with mkdocs build --strict"
        )
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert (tmp_path / "site" / "api" / "ttp" / "index.html").exists()


# --- docs/data.md: the case study, its commands run in order, its outputs and pictures -------

DATA_GUIDE = DOCS / "data.md"
DATA_TEXT = DATA_GUIDE.read_text(encoding="utf-8")
IMAGE = re.compile(r"!\[[^\]]*\]\((img/[^)\s]+)\)")


def _execute(command: str, folder: Path) -> tuple[int, str, str]:
    """Run one guide line with the installed console script on a 100-column terminal without
    colour: its exit status, what it printed (lines stripped on the right), its stderr."""
    script = shutil.which("treemarket", path=str(Path(sys.executable).parent))
    assert script is not None, "the treemarket console script is not installed"
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}
    done = subprocess.run(
        [script, *shlex.split(command, comments=True)[1:]],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = done.stdout.strip("\n").splitlines()
    return done.returncode, "\n".join(line.rstrip() for line in lines) + "\n", done.stderr


def _guide_lines(text: str) -> list[str]:
    """The ``treemarket ...`` lines of the ``sh`` blocks, in order, as written."""
    return [
        line
        for block in _fences(text, "sh")
        for line in block.group("body").splitlines()
        if line.startswith("treemarket ")
    ]


def _run_data_guide(folder: Path) -> dict[str, str]:
    """Every command of the case study, in order, in ``folder``: what each printed."""
    for name, text in bundled_examples().items():
        (folder / name).write_text(text, encoding="utf-8")
    printed = {}
    for line in _guide_lines(DATA_TEXT):
        code, out, err = _execute(line, folder)
        assert code == 0, f"{line} exited {code}: {err or out}"
        printed[line] = out
    return printed


def test_data_guide_runs_in_order_shows_what_it_prints_and_its_pictures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regenerate with ``.venv/bin/python tests/test_docs.py --update``; then its ``pycon``
    blocks run as doctests in the same folder."""
    assert len(_guide_lines(DATA_TEXT)) >= 6
    printed = _run_data_guide(tmp_path)
    monkeypatch.chdir(tmp_path)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    report: list[str] = []
    names: dict[str, object] = {}
    for block in _fences(DATA_TEXT, "pycon"):
        line = DATA_TEXT.count("\n", 0, block.start("body"))
        test = doctest.DocTestParser().get_doctest(
            block.group("body"), names, "docs/data.md", str(DATA_GUIDE), line
        )
        runner.run(test, out=report.append, clear_globs=False)
        names.update(test.globs)
    assert runner.failures == 0, "".join(report)
    assert runner.tries >= 10
    shown = _shown_outputs(DATA_TEXT)
    assert len(shown) >= 4
    for command, block in shown:
        assert printed[command] == block.group("body"), command
    images = IMAGE.findall(DATA_TEXT)
    assert len(images) >= 2
    for image in images:
        assert (tmp_path / image).exists(), f"no command of the guide draws {image}"
        assert (DOCS / image).exists(), f"{image} is not in docs/ (--update copies it)"


def _update_data_guide() -> None:
    """Write the case study's outputs into its text blocks and copy its pictures to docs/."""
    import tempfile

    folder = Path(tempfile.mkdtemp())
    printed = _run_data_guide(folder)
    parts, last = [], 0
    for command, block in _shown_outputs(DATA_TEXT):
        parts.append(DATA_TEXT[last : block.start("body")] + printed[command])
        last = block.end("body")
    DATA_GUIDE.write_text("".join(parts) + DATA_TEXT[last:], encoding="utf-8")
    for image in IMAGE.findall(DATA_TEXT):
        (DOCS / image).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(folder / image, DOCS / image)


if __name__ == "__main__" and sys.argv[1:] == ["--update"]:
    _update_guide()
    _update_data_guide()
