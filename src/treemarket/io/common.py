"""Reading model documents (YAML or JSON) with the line of every place, and atomic writing."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from treemarket.errors import ModelError, format_place

Place = tuple[str | int, ...]


class StrictModel(BaseModel):
    """The base of every file schema: an unknown key is an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class Document:
    """A parsed model file: its data, and the line on which each place starts.

    ``place`` is a tuple of keys and list indices, e.g. ``("scenarios", "FC", "probability")``.
    """

    def __init__(self, data: Any, file: str | None, lines: dict[Place, int] | None = None) -> None:
        self.data = data
        self.file = file
        self.lines = lines or {}
        self.directory = Path(file).parent if file else Path.cwd()

    def line(self, place: Iterable[str | int]) -> int | None:
        """The line of ``place``, or of its nearest enclosing place that has one."""
        key = tuple(place)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.lines.get((), None)

    def error(self, place: Iterable[str | int], message: str) -> ModelError:
        """A :class:`ModelError` for ``place`` in this document."""
        key = tuple(place)
        return ModelError(message, file=self.file, place=format_place(key), line=self.line(key))


def _yaml_lines(node: yaml.Node, place: Place, out: dict[Place, int]) -> None:
    out.setdefault(place, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[(*place, key)] = key_node.start_mark.line + 1
            _yaml_lines(value_node, (*place, key), out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _yaml_lines(item, (*place, index), out)


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys (YAML would silently keep the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_document(path: str | os.PathLike[str]) -> Document:
    """Read a YAML or JSON file into a :class:`Document`; any failure is a :class:`ModelError`."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ModelError(f"cannot read file: {reason}", file=file) from None
    return parse_document(text, file)


def parse_document(text: str, file: str | None = None) -> Document:
    """Parse YAML, or JSON when the file name ends in ``.json``; keep the line of each place."""
    if file is not None and file.lower().endswith(".json"):
        try:
            data = json.loads(text)
        except RecursionError:
            raise ModelError("nested too deeply to read", file=file) from None
        except json.JSONDecodeError as exc:
            raise ModelError(f"not valid JSON: {exc.msg}", file=file, line=exc.lineno) from None
        lines: dict[Place, int] = {}
        try:
            node = yaml.compose(text, Loader=_UniqueKeyLoader)
            if node is not None:
                _yaml_lines(node, (), lines)
        except (yaml.YAMLError, RecursionError):
            lines = {}
        if data is None:
            raise ModelError("the file is empty", file=file)
        return Document(data, file, lines)
    try:
        node = yaml.compose(text, Loader=_UniqueKeyLoader)
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except RecursionError:
        raise ModelError("nested too deeply to read", file=file) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        line = mark.line + 1 if mark is not None else None
        raise ModelError(f"not valid YAML: {problem}", file=file, line=line) from None
    lines = {}
    if node is not None:
        try:
            _yaml_lines(node, (), lines)
        except RecursionError:
            lines = {}
    if data is None:
        raise ModelError("the file is empty", file=file)
    return Document(data, file, lines)


def validate(doc: Document, schema: type[BaseModel], data: Any = None, place: Place = ()) -> Any:
    """Validate ``data`` (default: the whole document) against a pydantic ``schema``.

    The most specific error (the deepest place in the data) becomes a one-line
    :class:`ModelError` naming its place.
    """
    target = doc.data if data is None else data
    try:
        return schema.model_validate(target)
    except ValidationError as exc:
        located = [(*_data_place(target, error["loc"]), error) for error in exc.errors()]
        loc, _, first = max(located, key=lambda item: item[1])
        raise doc.error((*place, *loc), _message(first)) from None


def _data_place(data: Any, loc: tuple[Any, ...]) -> tuple[Place, int]:
    """The path of pydantic's ``loc`` through the data, and how many of its parts exist there.

    Parts that are not in the data are union member tags (skipped), except a last part that
    looks like a field name: a missing key, kept to name it.
    """
    out: list[str | int] = []
    current = data
    found = 0
    for k, part in enumerate(loc):
        inside = (isinstance(current, dict) and part in current) or (
            isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        )
        if inside:
            current = current[part]
            out.append(part)
            found += 1
        elif k == len(loc) - 1 and isinstance(part, str) and part.isidentifier() and part.islower():
            out.append(part)
    return tuple(out), found


def _message(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    text = error["msg"]
    return text[0].lower() + text[1:] if text else kind


def write_atomic(
    path: str | os.PathLike[str], write: Callable[[Any], None], mode: str = "w"
) -> None:
    """Write a file completely or not at all: write to a temporary file beside it, then rename.

    The file gets the permissions a plain ``open()`` would give it (0666 less the umask), not
    the private 0600 of a temporary file. A place that cannot be written (a folder, a missing
    permission) is a :class:`ModelError` naming the file.
    """
    target = Path(path)
    if target.is_dir():
        raise ModelError("is a folder, not a file to write", file=str(target))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as exc:
        raise ModelError(f"cannot be written: {exc.strerror}", file=str(target)) from None
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, mode) as handle:
            write(handle)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    """The process's umask (read by setting it and restoring it at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path``, atomically."""
    write_atomic(path, lambda handle: handle.write(text))


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    write_atomic(path, lambda h: h.write(json.dumps(obj, indent=2) + "\n"))
