"""Input files: expanding folders, gzip, stdin, and splitting a file into documents.

A file is read as one of three layouts, chosen by its first bytes (after gzip):

* **JSON lines** (the audit log backend, ``?watch=1`` streams): the first non-empty line
  is a whole JSON value. Each line is parsed alone; a bad line is reported and the next
  one read.
* **a stream of JSON values** (``kubectl get -o json``, ``kubectl get -w -o json
  --output-watch-events``: pretty-printed and concatenated): values are read one after
  the other; after a bad one, reading resumes at the next line that opens a value at
  column 0.
* **YAML** (anything else): documents separated by ``---`` lines, each parsed alone.

Everything streams: memory holds one document at a time (a single huge List is one
document). Folders are walked recursively in name order, which for kube-apiserver's
rotated files (``audit-2024-01-01T00-00-00.000.log.gz`` ... ``audit.log``) is oldest
first; README, LICENSE and ``*.md`` files, and hidden files, are left out.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from servicecidr.importers.inputs import ImportAborted, Skip
from servicecidr.yamldoc import YAMLDocError, load_document

__all__ = [
    "BLANK",
    "STREAM",
    "Input",
    "Position",
    "expand_inputs",
    "iter_documents",
    "json_layout",
    "json_line",
    "json_stream_from",
]

_SKIP_NAMES = ("readme", "license", "licence", "notice", "copying")
_SKIP_SUFFIXES = (".md", ".rst")
_decoder = json.JSONDecoder()
_scan: Any = getattr(_decoder, "scan_once")  # noqa: B009 (the C scanner; not in the stubs)


@dataclass
class Input:
    """One input: a file, or standard input (``path`` None)."""

    name: str
    path: Path | None
    size: int = 0


@dataclass
class Position:
    """Bytes read so far over all inputs (compressed bytes for gzip), for progress."""

    done: int = 0
    total: int = 0
    ignored_files: list[str] = field(default_factory=list)


def expand_inputs(
    paths: Iterable[str | os.PathLike[str]], pos: Position | None = None
) -> list[Input]:
    """Files for the given paths (``-`` is stdin); folders are walked recursively."""
    out: list[Input] = []
    for raw in paths:
        s = os.fspath(raw)
        if s == "-":
            out.append(Input("<stdin>", None))
            continue
        p = Path(s)
        if p.is_dir():
            for q in sorted(p.rglob("*")):
                if not q.is_file():
                    continue
                rel = q.relative_to(p)
                low = q.name.lower()
                if (
                    any(part.startswith(".") for part in rel.parts)
                    or low.startswith(_SKIP_NAMES)
                    or low.endswith(_SKIP_SUFFIXES)
                ):
                    if pos is not None:
                        pos.ignored_files.append(str(q))
                    continue
                out.append(Input(str(q), q, q.stat().st_size))
        elif p.exists():
            out.append(Input(s, p, p.stat().st_size if p.is_file() else 0))
        else:
            raise ImportAborted(f"{s}: no such file or directory")
    if pos is not None:
        pos.total += sum(i.size for i in out)
    return out


def _open(inp: Input) -> tuple[IO[bytes], IO[bytes]]:
    """(decompressed stream with peek(), raw stream whose tell() measures progress)."""
    raw: Any = sys.stdin.buffer if inp.path is None else open(inp.path, "rb")  # noqa: SIM115
    buffered: Any = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)
    if buffered.peek(2)[:2] == b"\x1f\x8b":
        gz: Any = gzip.GzipFile(fileobj=buffered, mode="rb")
        return io.BufferedReader(gz), raw
    return buffered, raw


def _first_byte(stream: IO[bytes]) -> bytes:
    peek = getattr(stream, "peek", None)
    if peek is not None:
        head: bytes = peek(4096)
        head = head.lstrip(b"\xef\xbb\xbf \t\r\n")
        if head:
            return head[:1]
    return b""


def iter_documents(inp: Input, pos: Position | None = None) -> Iterator[tuple[int, Any] | Skip]:
    """(first line, parsed value) for each document of a file, or a Skip for a bad one."""
    base = pos.done if pos is not None else 0
    try:
        stream, raw = _open(inp)
    except OSError as e:
        yield Skip(inp.name, 0, "unknown-shape", f"cannot read: {e}")
        return
    try:
        first = _first_byte(stream)
        tell = raw.tell if inp.path is not None else None
        if first in (b"{", b"["):
            yield from _json(inp.name, stream, pos, base, tell)
        elif first:
            yield from _yaml(inp.name, stream)
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        yield Skip(inp.name, 0, "malformed-json", f"read error: {e}")
    finally:
        if pos is not None:
            pos.done = base + inp.size
        if inp.path is not None:
            raw.close()


def _json(
    name: str,
    stream: IO[bytes],
    pos: Position | None,
    base: int,
    tell: Any,
) -> Iterator[tuple[int, Any] | Skip]:
    lineno = 0
    it = iter(stream)
    # JSON lines while lines are whole values
    for line in it:
        lineno += 1
        value = json_line(name, lineno, line)
        if value is BLANK:
            continue
        if value is STREAM:
            # pretty-printed or concatenated values: read them as a stream
            yield from _json_stream(name, lineno, line, it)
            return
        if type(value) is Skip:
            yield value
            continue
        yield lineno, value
        if tell is not None and pos is not None and not lineno & 4095:
            pos.done = base + tell()


#: json_line's answers for a blank line and for a line that starts a JSON stream
BLANK: Any = object()
STREAM: Any = object()
_scan_once = _scan  # the C scanner itself: json.loads without its wrappers


def json_line(name: str, lineno: int, line: bytes) -> Any:
    """One line of a JSON-lines file: its value, a Skip (malformed), :data:`BLANK`, or
    :data:`STREAM` when the file is pretty-printed or concatenated JSON from here."""
    try:
        text = line.decode()
        value, end = _scan_once(text, 0)
        if end != len(text) and text[end:].strip():
            raise ValueError("Extra data")
        return value
    except (ValueError, StopIteration, RecursionError):
        try:
            return json.loads(line)
        except RecursionError:
            return Skip(name, lineno, "malformed-json", "nested too deeply to read")
        except ValueError as e:
            if not line.strip():
                return BLANK
            if lineno == 1 or line.strip() in (b"{", b"["):
                return STREAM
            return Skip(name, lineno, "malformed-json", _json_error(e))


def json_stream_from(inp: Input, lineno: int, line: bytes) -> Iterator[tuple[int, Any] | Skip]:
    """The rest of a file as a JSON stream, from its line ``lineno`` (which is ``line``):
    for a reader that found out only there that the file is not JSON lines."""
    try:
        stream, raw = _open(inp)
    except OSError as e:
        yield Skip(inp.name, 0, "unknown-shape", f"cannot read: {e}")
        return
    try:
        it = iter(stream)
        for _ in range(lineno):
            next(it, None)
        yield from _json_stream(inp.name, lineno, line, it)
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        yield Skip(inp.name, 0, "malformed-json", f"read error: {e}")
    finally:
        if inp.path is not None:
            raw.close()


def json_layout(inp: Input) -> bool:
    """Whether a file (not stdin) starts like JSON (``{`` or ``[``, after gzip)."""
    if inp.path is None:
        return False
    try:
        stream, raw = _open(inp)
    except OSError:
        return False
    try:
        return _first_byte(stream) in (b"{", b"[")
    except (OSError, EOFError, gzip.BadGzipFile):
        return False
    finally:
        raw.close()


def _json_error(e: ValueError) -> str:
    text = str(e)
    return text if len(text) < 200 else text[:200] + "..."


def _parse_values(name: str, start: int, doc: str) -> tuple[list[Any], Skip | None, bool]:
    """(values, error, incomplete) for a buffered piece of a JSON stream."""
    values: list[Any] = []
    idx, end = 0, len(doc)
    while True:
        while idx < end and doc[idx] in " \t\r\n":
            idx += 1
        if idx >= end:
            return values, None, False
        try:
            value, idx = _decoder.raw_decode(doc, idx)
        except RecursionError:
            return values, Skip(name, start, "malformed-json", "nested too deeply to read"), False
        except ValueError as e:
            epos = getattr(e, "pos", None)
            incomplete = isinstance(epos, int) and epos >= len(doc.rstrip())
            return values, Skip(name, start, "malformed-json", _json_error(e)), incomplete
        values.append(value)


def _json_stream(
    name: str, lineno: int, first: bytes, rest: Iterator[bytes]
) -> Iterator[tuple[int, Any] | Skip]:
    """Concatenated JSON values, possibly pretty-printed across many lines: a value ends
    on a line that closes at column 0; a line opening at column 0 starts a new one."""
    buf: list[str] = []
    start = lineno

    def lines() -> Iterator[tuple[int, str]]:
        yield lineno, first.decode("utf-8", "replace")
        n = lineno
        for b in rest:
            n += 1
            yield n, b.decode("utf-8", "replace")

    def flush(final: bool) -> Iterator[tuple[int, Any] | Skip]:
        values, err, incomplete = _parse_values(name, start, "".join(buf))
        for v in values:
            yield start, v
        if err is not None:
            if incomplete and final:
                err.detail = "the input ends inside a JSON value"
            yield err

    for n, text in lines():
        if buf and text[:1] in ("{", "["):
            yield from flush(False)  # a new value starts: the buffered one is broken
            buf = []
        if not buf:
            if not text.strip():
                continue
            start = n
        buf.append(text)
        stripped = text.rstrip()
        if stripped in ("}", "]") or (len(buf) == 1 and stripped[-1:] in ("}", "]")):
            values, err, incomplete = _parse_values(name, start, "".join(buf))
            if err is not None and incomplete:
                continue  # the value goes on
            for v in values:
                yield start, v
            if err is not None:
                yield err
            buf = []
    if buf:
        yield from flush(True)


def _yaml(name: str, stream: IO[bytes]) -> Iterator[tuple[int, Any] | Skip]:
    buf: list[str] = []
    start = 1
    lineno = 0

    def flush() -> Iterator[tuple[int, Any] | Skip]:
        text = "".join(buf)
        if not text.strip():
            return
        try:
            value = load_document(text)
        except YAMLDocError as e:
            line = start + (e.line - 1 if e.line is not None else 0)
            where = "" if e.line is None else f"line {e.line}: "
            yield Skip(name, line, "malformed-yaml", str(e).replace(where, "", 1)[:200])
            return
        if value is not None:
            yield start, value

    for b in stream:
        lineno += 1
        line = b.decode("utf-8", "replace")
        if (
            line.startswith("---") and line[3:].strip() in ("", "|", ">")
        ) or line.rstrip() == "...":
            yield from flush()
            buf = []
            start = lineno + 1
            continue
        if not buf:
            start = lineno
        buf.append(line)
    yield from flush()
