"""Media types: what a request body is, and what a response may be.

Request bodies (apiserver ``handlers/negotiation``, ``NegotiateInputSerializer``): JSON
(also when ``Content-Type`` is missing, as the Python client sends it), YAML, and
Kubernetes protobuf (``kubectl create service`` sends it; :mod:`.protobuf`). Anything else
is a 415 listing the accepted types.

Responses: JSON, a ``Table`` when the ``Accept`` header asks for one first
(:mod:`.tables`), or YAML when it asks for ``application/yaml`` first. A header that
admits none of them (only protobuf or CBOR, say) is a 406.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

import yaml

from servicecidr.errors import BadRequestError
from servicecidr.serve import protobuf
from servicecidr.serve.gojson import loads_checked
from servicecidr.serve.status import not_acceptable, unsupported_media_type
from servicecidr.serve.tables import table_version
from servicecidr.yamldoc import YAMLDocError, load_document

__all__ = [
    "JSON",
    "PROTOBUF",
    "YAML",
    "Body",
    "Output",
    "decode_body",
    "encode",
    "media_type",
    "output",
]

JSON: Final = "application/json"
YAML: Final = "application/yaml"
PROTOBUF: Final = "application/vnd.kubernetes.protobuf"
_INPUT_TYPES: Final = (JSON, YAML, PROTOBUF)
_OUTPUT_TYPES: Final = (JSON, YAML)


def media_type(header: str | None) -> str:
    """The media type of a ``Content-Type`` header, parameters dropped ('' when none)."""
    return (header or "").split(";", 1)[0].strip().lower()


@dataclass(frozen=True, slots=True)
class Body:
    """A decoded request body and the strict-decoding problems of its JSON (duplicate
    keys), which ``fieldValidation`` turns into warnings or an error."""

    value: Any
    duplicates: list[str]


def _summary(data: bytes) -> str:
    text = data[:30].decode("utf-8", errors="replace")
    return text + " ..." if len(data) > 30 else text


def decode_body(
    data: bytes,
    content_type: str | None,
    *,
    api_version: str,
    kind: str,
    check_duplicates: bool = True,
) -> Body:
    """Decode a create or update body sent to an endpoint of ``api_version``/``kind``.

    Raises:
        UnsupportedMediaTypeError: a ``Content-Type`` that is not JSON, YAML or protobuf.
        BadRequestError: a body that does not parse, worded as kube-apiserver's decoder
            (``the object provided is unrecognized (must be of type Service): ...``).
    """
    mt = media_type(content_type)
    unrecognized = f"the object provided is unrecognized (must be of type {kind}): "
    if mt in ("", JSON):
        try:
            if check_duplicates:
                value, dups = loads_checked(data)
            else:
                value, dups = json.loads(data), []
        except (ValueError, RecursionError) as e:
            raise BadRequestError(
                f"{unrecognized}couldn't get version/kind; json parse error: {e} ({_summary(data)})"
            ) from None
        return Body(value, dups)
    if mt == YAML:
        try:
            value = load_document(data.decode("utf-8", errors="replace"))
        except YAMLDocError as e:
            raise BadRequestError(
                f"{unrecognized}couldn't get version/kind; json parse error: "
                f"error converting YAML to JSON: {e} ({_summary(data)})"
            ) from None
        return Body(value, [])
    if mt == PROTOBUF:
        return Body(protobuf.decode(data, api_version=api_version, kind=kind), [])
    raise unsupported_media_type(_INPUT_TYPES)


@dataclass(frozen=True, slots=True)
class Output:
    """What a response is encoded as: ``media`` (JSON or YAML) and, for a Table, its
    version (``v1``/``v1beta1``)."""

    media: str
    table: str | None = None

    @property
    def content_type(self) -> str:
        if self.table is not None:
            return f"application/json;as=Table;v={self.table};g=meta.k8s.io"
        return self.media


def output(accept: str | None, *, tables: bool = True) -> Output:
    """Negotiate the response type from ``Accept`` (media types in the order given, as
    kube-apiserver tries them). ``tables=False``: a Table cannot be served here."""
    if not accept:
        return Output(JSON)
    if tables:
        version = table_version(accept)
        if version is not None:
            return Output(JSON, version)
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        media = media.lower()
        opts = dict(p.split("=", 1) for p in params if "=" in p)
        if "as" in opts:
            continue  # another transformation (a Table where none is served, a list form)
        if media in (JSON, "application/*", "*/*", "*"):
            return Output(JSON)
        if media == YAML:
            return Output(YAML)
    raise not_acceptable(_OUTPUT_TYPES)


def encode(value: Any, out: Output) -> bytes:
    """The response body."""
    if out.media == YAML:
        return yaml.safe_dump(value, default_flow_style=False, sort_keys=True).encode()
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
