"""Reading ``-f`` manifests as kubectl's resource builder does.

* ``-f`` takes files, directories (``.json``, ``.yaml``, ``.yml`` inside; ``-R`` walks
  down) and ``-`` for standard input (source name ``STDIN``); a value may hold several
  paths separated by commas.
* A file is a stream of YAML documents split on ``---`` lines (``YAMLReader``), or a
  stream of JSON objects when it starts with ``{``; empty documents are skipped.
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

import yaml

from servicecidr.cli.errors import CliError

__all__ = ["Manifest", "load_manifests", "parse_stream"]

_EXTENSIONS = (".json", ".yaml", ".yml")
_SEPARATOR = re.compile(r"^---(\s.*)?$")


@dataclass
class Manifest:
    """One object read from a source."""

    obj: dict[str, Any]
    source: str


class _Loader(yaml.SafeLoader):
    """YAML as ``sigs.k8s.io/yaml`` reads it: timestamps stay strings."""


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


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


# PyYAML's wording of common problems, and go-yaml's (what kubectl prints).
_GO_YAML_WORDING = {
    "mapping values are not allowed here": "mapping values are not allowed in this context",
    "found character '\\t' that cannot start any token": "found character that cannot start "
    "any token",
}


def _yaml_error(source: str, e: yaml.YAMLError) -> CliError:
    mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
    problem = getattr(e, "problem", None) or str(e)
    problem = _GO_YAML_WORDING.get(problem, problem)
    line = f"line {mark.line + 1}: " if mark is not None else ""
    return CliError(
        f"error: error parsing {source}: error converting YAML to JSON: yaml: {line}{problem}"
    )


def parse_stream(text: str, source: str) -> list[dict[str, Any]]:
    """Every object of a YAML or JSON stream (Lists flattened, empty documents dropped)."""
    docs: list[Any] = []
    if text.lstrip().startswith("{") or text.lstrip().startswith("["):
        dec = json.JSONDecoder()
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
            docs.append(doc)
    else:
        for part in _split_documents(text):
            try:
                doc = yaml.load(part, Loader=_Loader)
            except yaml.YAMLError as e:
                raise _yaml_error(source, e) from e
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
            text = stream.read()
            out.extend(Manifest(o, "STDIN") for o in parse_stream(text, "STDIN"))
            continue
        if p.startswith(("http://", "https://")):
            raise CliError(f'error: reading manifests from a URL is not supported: "{p}"')
        path = Path(p)
        if not path.exists():
            raise CliError(f'error: the path "{p}" does not exist')
        files = [path] if path.is_file() else _files_in(path, recursive)
        for f in files:
            source = p if f == path else str(f)
            try:
                text = f.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as e:
                raise CliError(f'error: error reading "{source}": {e}') from e
            out.extend(Manifest(o, source) for o in parse_stream(text, source))
    return out
