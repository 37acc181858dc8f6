"""One YAML document to the JSON value kubectl would send (``sigs.k8s.io/yaml``'s
``YAMLToJSON`` over ``gopkg.in/yaml.v2``), within go-yaml's bounds: how the command
line's ``-f`` manifests and the importers' YAML files are read.

* libyaml (``yaml.CParser``) reads the text when PyYAML was built with it, else PyYAML's
  pure-Python reader; either way the nodes are composed here, in Python, so that the
  bounds below are checked before anything is built, and the constructor is PyYAML's
  safe one (timestamps stay strings, as in ``sigs.k8s.io/yaml``).
* go-yaml's bounds: an anchor used inside its own value (``&a [*a]``) is refused
  (``anchor 'a' value contains itself``), and so is a document whose decoding is mostly
  alias expansion (``document contains excessive aliasing``: go-yaml's
  ``allowedAliasRatio``, 99% of the nodes up to 400,000 decodes, sliding to 10% at
  4,000,000), so a few hundred bytes cannot expand into gigabytes. Nesting stops at
  :data:`~servicecidr.api.storable.MAX_DEPTH` containers (go-yaml's limit is 10,000; no
  object servicecidr stores may nest deeper than 100 anyway).
* JSON has only string keys: ``YAMLToJSON`` writes integer, float and boolean keys as
  text (``1`` -> ``"1"``, ``true`` -> ``"true"``, a float as ``strconv.FormatFloat(f,
  'g', -1, 32)``) and refuses any other key; a ``!!binary`` value becomes the string of
  its bytes (invalid UTF-8 replaced byte by byte, as Go's JSON encoder does).

Errors are :class:`YAMLDocError` with go-yaml's wording and, where there is one, the line.
"""

from __future__ import annotations

import codecs
import datetime
import math
import struct
from typing import Any

import yaml
from yaml.composer import Composer, ComposerError
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent, MappingStartEvent, SequenceStartEvent
from yaml.resolver import Resolver

from servicecidr.api.storable import MAX_DEPTH

__all__ = ["YAMLDocError", "load_document", "load_documents", "with_libyaml"]

# go-yaml v2 decode.go: the alias expansion a decode may do (allowedAliasRatio).
_ALIAS_RANGE_LOW = 400_000
_ALIAS_RANGE_HIGH = 4_000_000


def _allowed_alias_ratio(decodes: int) -> float:
    if decodes <= _ALIAS_RANGE_LOW:
        return 0.99
    if decodes >= _ALIAS_RANGE_HIGH:
        return 0.10
    span = _ALIAS_RANGE_HIGH - _ALIAS_RANGE_LOW
    return 0.99 - 0.89 * ((decodes - _ALIAS_RANGE_LOW) / span)


class YAMLDocError(Exception):
    """A document that cannot be read: ``problem`` in go-yaml's words, ``line`` (1-based)
    where the reader knows it. ``str()`` is what kubectl prints after ``error converting
    YAML to JSON:`` (``yaml: line 3: ...``, or ``json: ...`` when the value has no JSON)."""

    def __init__(self, problem: str, line: int | None = None, *, stage: str = "yaml") -> None:
        where = f"line {line}: " if line is not None else ""
        super().__init__(f"{stage}: {where}{problem}" if stage else problem)
        self.problem = problem
        self.line = line


class _Bounded(Composer):
    """PyYAML's composer, counting as go-yaml's decoder counts: every node is one decode,
    an alias the whole size of what it names (all of it alias-driven)."""

    peek_event: Any  # from the parser it is mixed with

    def __init__(self) -> None:
        super().__init__()
        self._reset()

    def _reset(self) -> None:
        self._depth = 0
        self._decodes = 0
        self._aliased = 0
        self._open: set[str] = set()  # anchors whose value is being composed
        self._sizes: dict[str, int] = {}  # anchor -> decodes its value costs
        self._acc = [0]  # decodes of the children of each open node

    def compose_document(self) -> Any:
        self._reset()
        return super().compose_document()

    def _count(self, decodes: int, aliased: int) -> None:
        self._decodes += decodes
        self._aliased += aliased
        if (
            self._aliased > 100
            and self._decodes > 1000
            and self._aliased / self._decodes > _allowed_alias_ratio(self._decodes)
        ):
            raise ComposerError(None, None, "document contains excessive aliasing", None)

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            assert event.anchor is not None
            if event.anchor in self._open:
                raise ComposerError(
                    None, None, f"anchor '{event.anchor}' value contains itself", None
                )
            node = super().compose_node(parent, index)
            size = self._sizes.get(event.anchor, 1)
            self._acc[-1] += 1 + size
            self._count(1 + size, size)
            return node
        anchor = event.anchor
        collection = isinstance(event, SequenceStartEvent | MappingStartEvent)
        if collection:
            if self._depth >= MAX_DEPTH:
                raise ComposerError(
                    None, None, f"exceeded max depth of {MAX_DEPTH}", event.start_mark
                )
            self._depth += 1
        if anchor is not None:
            self._open.add(anchor)
        self._acc.append(0)
        try:
            node = super().compose_node(parent, index)
        finally:
            children = self._acc.pop()
            if collection:
                self._depth -= 1
            if anchor is not None:
                self._open.discard(anchor)
        size = 1 + children
        if anchor is not None:
            self._sizes[anchor] = size
        self._acc[-1] += size
        self._count(1, 0)
        return node


class _Constructor(SafeConstructor):
    """PyYAML's safe constructor; a value its tag cannot hold (``!!int x``) is a YAML
    error with go-yaml's words, not a Python one."""

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, OverflowError, ArithmeticError):
            shown = node.value if isinstance(node.value, str) else "..."
            tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
            raise ComposerError(
                None, None, f"cannot decode `{shown}` as a {tag}", node.start_mark
            ) from None


def _resolvers() -> dict[Any, list[tuple[str, Any]]]:
    # sigs.k8s.io/yaml keeps timestamps as strings: no implicit !!timestamp.
    return {
        ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


class _Resolver(Resolver):
    yaml_implicit_resolvers = _resolvers()


class _PyLoader(
    yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser, _Bounded, _Constructor, _Resolver
):
    """PyYAML's own reader and parser (when libyaml is missing)."""

    def __init__(self, stream: str) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        _Bounded.__init__(self)
        _Constructor.__init__(self)
        _Resolver.__init__(self)


_Loader: Any = _PyLoader
if getattr(yaml, "__with_libyaml__", False):
    from yaml._yaml import CParser

    class _CLoader(CParser, _Bounded, _Constructor, _Resolver):
        """libyaml reads and parses; composing (with the bounds) stays in Python."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            _Bounded.__init__(self)
            _Constructor.__init__(self)
            _Resolver.__init__(self)

        # CParser composes in C, without bounds (and deep nesting overflows its stack).
        get_node = _Bounded.get_node
        check_node = _Bounded.check_node
        get_single_node = _Bounded.get_single_node

    _Loader = _CLoader


def with_libyaml() -> bool:
    """Whether documents are read by libyaml (PyYAML's C extension)."""
    return _Loader is not _PyLoader


# PyYAML's wording of common problems -> go-yaml's (libyaml's, which kubectl prints).
_GO_YAML_WORDING = {
    "mapping values are not allowed here": "mapping values are not allowed in this context",
    "found character '\\t' that cannot start any token": "found character that cannot start "
    "any token",
}


def _problem(e: yaml.YAMLError, text: str) -> YAMLDocError:
    if isinstance(e, yaml.reader.ReaderError):  # go-yaml: "control characters are not allowed"
        return YAMLDocError(str(e.reason), text.count("\n", 0, e.position) + 1)
    mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
    problem = " ".join((getattr(e, "problem", None) or str(e)).split())
    problem = _GO_YAML_WORDING.get(problem, problem)
    if problem.startswith("found undefined alias"):
        anchor = problem[len("found undefined alias") :].strip().strip("'")
        return YAMLDocError(f"unknown anchor '{anchor}' referenced")
    return YAMLDocError(problem, mark.line + 1 if mark is not None else None)


def load_document(text: str) -> Any:
    """The value of one YAML document, as ``sigs.k8s.io/yaml`` would turn it into JSON;
    None for an empty document. Raises :class:`YAMLDocError`."""
    loader = _Loader(text)
    try:
        value = loader.get_single_data()
    except yaml.YAMLError as e:
        raise _problem(e, text) from None
    except RecursionError:  # a bound above should have stopped it first
        raise YAMLDocError(f"exceeded max depth of {MAX_DEPTH}") from None
    finally:
        loader.dispose()
    return _to_json(value)


def load_documents(text: str) -> list[Any]:
    """Every document of a YAML stream (``---`` separated), each read as
    :func:`load_document` reads one (None for an empty one). Raises :class:`YAMLDocError`
    at the first document that cannot be read."""
    loader = _Loader(text)
    docs: list[Any] = []
    try:
        while loader.check_data():
            docs.append(_to_json(loader.get_data()))
    except yaml.YAMLError as e:
        raise _problem(e, text) from None
    except RecursionError:
        raise YAMLDocError(f"exceeded max depth of {MAX_DEPTH}") from None
    finally:
        loader.dispose()
    return docs


def _go_replace(e: UnicodeError) -> tuple[str, int]:
    # Go's JSON encoder replaces each invalid byte with U+FFFD (Python's "replace" takes
    # a whole invalid sequence at once).
    assert isinstance(e, UnicodeDecodeError)
    return "\ufffd", e.start + 1


codecs.register_error("servicecidr-go-replace", _go_replace)


def _float_key(f: float) -> str:
    """``strconv.FormatFloat(f, 'g', -1, 32)``, with go-yaml's names for the specials."""
    if math.isnan(f):
        return ".nan"
    if math.isinf(f):
        return ".inf" if f > 0 else "-.inf"
    f32 = struct.unpack("f", struct.pack("f", f))[0] if abs(f) < 3.5e38 else f
    for digits in range(1, 10):
        text = f"{f32:.{digits}e}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == f32:
            break
    mantissa, _, exp_text = text.partition("e")
    exp = int(exp_text)
    mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
    if exp < -4 or exp >= 6:  # %e for the shortest form's exponent outside [-4, 6)
        return f"{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    sign, digs = ("-", mantissa[1:]) if mantissa.startswith("-") else ("", mantissa)
    digs = digs.replace(".", "")
    point = exp + 1
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digs}"
    if point >= len(digs):
        return f"{sign}{digs}{'0' * (point - len(digs))}"
    return f"{sign}{digs[:point]}.{digs[point:]}"


def _key(k: Any) -> str:
    if isinstance(k, str):
        return k
    if isinstance(k, bool):
        return "true" if k else "false"
    if isinstance(k, int):
        return str(k)
    if isinstance(k, float):
        return _float_key(k)
    if k is None:
        raise YAMLDocError("unsupported map key of type: null, key: null", stage="")
    raise YAMLDocError(f"unsupported map key of type: {type(k).__name__}, key: {k!r}", stage="")


def _go_time(t: datetime.date) -> str:
    """An explicit ``!!timestamp`` as Go's JSON encoder writes a time.Time (RFC 3339 with
    nanoseconds trimmed; go-yaml reads a time without a zone as UTC)."""
    if not isinstance(t, datetime.datetime):
        t = datetime.datetime(t.year, t.month, t.day)
    if t.tzinfo is None:
        t = t.replace(tzinfo=datetime.UTC)
    frac = f".{t.microsecond:06d}".rstrip("0") if t.microsecond else ""
    off = t.utcoffset() or datetime.timedelta(0)
    if not off:
        zone = "Z"
    else:
        minutes = int(off.total_seconds()) // 60
        sign = "-" if minutes < 0 else "+"
        zone = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return f"{t:%Y-%m-%dT%H:%M:%S}{frac}{zone}"


def _to_json(v: Any) -> Any:
    """What ``YAMLToJSON`` makes of a loaded value: string keys, ``!!binary`` as text, an
    explicit ``!!timestamp`` as Go writes a time; what JSON has no value for (NaN, a
    ``!!set``, the pairs of a ``!!omap``) fails as Go's ``json.Marshal`` fails."""
    if isinstance(v, dict):
        return {_key(k): _to_json(item) for k, item in v.items()}
    if isinstance(v, list):
        return [_to_json(item) for item in v]
    if isinstance(v, bytes):
        return v.decode("utf-8", "servicecidr-go-replace")
    if isinstance(v, float) and not math.isfinite(v):
        shown = "NaN" if math.isnan(v) else ("+Inf" if v > 0 else "-Inf")
        raise YAMLDocError(f"unsupported value: {shown}", stage="json")
    if isinstance(v, datetime.date):
        return _go_time(v)
    if isinstance(v, str | int | float | type(None)):
        return v
    raise YAMLDocError(f"unsupported type: {type(v).__name__}", stage="json")
