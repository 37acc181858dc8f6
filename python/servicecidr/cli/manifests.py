"""Reading ``-f`` manifests as kubectl's resource builder does.

* ``-f`` takes files, directories (``.json``, ``.yaml``, ``.yml`` inside; ``-R`` walks
  down) and ``-`` for standard input (source name ``STDIN``); a value may hold several
  paths separated by commas.
* A file is a stream of YAML documents split on ``---`` lines (``YAMLReader``), each read
  as kubectl reads it (:mod:`servicecidr.yamldoc`: libyaml when PyYAML has it,
  go-yaml's bounds on aliases and nesting, string keys), or a stream of JSON objects when
  it starts with ``{``; empty documents are skipped.
* ``kind: List`` and typed lists (``ServiceList``...) are flattened into their items.
* Everything is read and parsed before the command touches the state, so bad input
  changes nothing.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from servicecidr.cli.errors import CliError
from servicecidr.yamldoc import YAMLDocError, load_document

__all__ = ["Manifest", "load_manifests", "parse_stream"]

_EXTENSIONS = (".json", ".yaml", ".yml")
_SEPARATOR = re.compile(r"^---(\s.*)?$")


@dataclass
class Manifest:
    """One object read from a source."""

    obj: dict[str, Any]
    source: str


def _split_documents(text: str) -> list[str]:
    docs: list[list[str]] = [[]]
    for line in text.splitlines(keepends=True):
        if _SEPARATOR.match(line.rstrip("\r\n")):
            rest = line.rstrip("\r\n")[3:].strip()
            if rest and not rest.startswith("#"):
                raise CliError(f"error: invalid Yaml document separator: {rest}")
            docs.append([])
            continue
        docs[-1].append(line)
    return ["".join(d) for d in docs]


def _yaml_error(source: str, e: YAMLDocError) -> CliError:
    return CliError(f"error: error parsing {source}: error converting YAML to JSON: {e}")


def _json_constant(name: str) -> Any:
    # Python's json reads NaN and Infinity; JSON (and Go) has no such literal.
    raise ValueError(f"invalid character {name[0]!r} looking for beginning of value ({name})")


def parse_stream(text: str, source: str) -> list[dict[str, Any]]:
    """Every object of a YAML or JSON stream (Lists flattened, empty documents dropped)."""
    docs: list[Any] = []
    if text.lstrip().startswith("{") or text.lstrip().startswith("["):
        dec = json.JSONDecoder(parse_constant=_json_constant)
        pos = 0
        body = text
        while True:
            while pos < len(body) and body[pos].isspace():
                pos += 1
            if pos >= len(body):
                break
            try:
                doc, pos = dec.raw_decode(body, pos)
            except json.JSONDecodeError as e:
                raise CliError(f"error: error parsing {source}: {e.msg} (line {e.lineno})") from e
            except ValueError as e:
                line = body.count("\n", 0, pos) + 1
                raise CliError(f"error: error parsing {source}: {e} (line {line})") from e
            except RecursionError:
                line = body.count("\n", 0, pos) + 1
                raise CliError(
                    f"error: error parsing {source}: exceeded max depth (line {line})"
                ) from None
            docs.append(doc)
    else:
        for part in _split_documents(text):
            try:
                doc = load_document(part)
            except YAMLDocError as e:
                raise _yaml_error(source, e) from None
            if doc is not None:
                docs.append(doc)
    out: list[dict[str, Any]] = []
    for doc in docs:
        out.extend(_flatten(doc, source))
    return out


def _flatten(doc: Any, source: str) -> list[dict[str, Any]]:
    if isinstance(doc, list):
        return [o for item in doc for o in _flatten(item, source)]
    if not isinstance(doc, dict):
        raise CliError(
            f'error: error validating "{source}": error validating data: '
            f"the object is a {type(doc).__name__}, not a mapping with apiVersion and kind"
        )
    kind = doc.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(doc.get("items"), list):
        out: list[dict[str, Any]] = []
        for item in doc["items"]:
            out.extend(_flatten(item, source))
        return out
    missing = [f for f in ("apiVersion", "kind") if not doc.get(f)]
    if missing:
        raise CliError(
            f'error: error validating "{source}": error validating data: '
            f"[{', '.join(f + ' not set' for f in missing)}]; if you choose to ignore these "
            "errors, turn validation off with --validate=false"
        )
    return [doc]


def _expand(paths: Iterable[str]) -> list[str]:
    out: list[str] = []
    for p in paths:
        out.extend(x for x in p.split(",") if x)
    return out


def _files_in(directory: Path, recursive: bool) -> list[Path]:
    found: list[Path] = []
    if recursive:
        for root, dirs, files in os.walk(directory):
            dirs.sort()
            for f in sorted(files):
                if f.endswith(_EXTENSIONS):
                    found.append(Path(root) / f)
    else:
        found = sorted(
            p for p in directory.iterdir() if p.is_file() and p.name.endswith(_EXTENSIONS)
        )
    return found


def load_manifests(
    paths: Iterable[str], recursive: bool = False, stdin: TextIO | None = None
) -> list[Manifest]:
    """Read every object named by ``-f`` values, in order."""
    out: list[Manifest] = []
    for p in _expand(paths):
        if p == "-":
            stream = stdin if stdin is not None else sys.stdin
            try:
                text = stream.read()
            except (OSError, UnicodeDecodeError) as e:
                raise CliError(f'error: error reading "STDIN": {e}') from e
            out.extend(Manifest(o, "STDIN") for o in parse_stream(text, "STDIN"))
            continue
        if p.startswith(("http://", "https://")):
            raise CliError(f'error: reading manifests from a URL is not supported: "{p}"')
        path = Path(p)
        if not path.exists():
            raise CliError(f'error: the path "{p}" does not exist')
        # Anything but a directory is read as a file, as kubectl does (/dev/null, a pipe).
        try:
            files = _files_in(path, recursive) if path.is_dir() else [path]
        except OSError as e:
            raise CliError(f'error: error reading "{p}": {e}') from e
        for f in files:
            source = p if f == path else str(f)
            try:
                text = f.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as e:
                raise CliError(f'error: error reading "{source}": {e}') from e
            out.extend(Manifest(o, source) for o in parse_stream(text, source))
    return out
