"""Errors as kubectl reports them (``k8s.io/kubectl/pkg/cmd/util/helpers.go``).

* one API error: ``Error from server (Reason): message``; an ``Invalid`` error prints
  ``The Kind "name" is invalid: field: detail`` (one cause per ``*`` line when several);
* several errors (``create -f`` of a file with two bad objects): one
  ``Error from server (Reason): message`` line each;
* anything else: ``error: message``.

Errors tied to a manifest get kubectl's ``AddSourceToErr`` prefix:
``error when creating "FILE": ...``.
"""

from __future__ import annotations

from typing import Any

from servicecidr.errors import ApiError, InvalidError

__all__ = ["CliError", "add_source", "format_errors", "message_for_error"]


class CliError(Exception):
    """A failure that ends a command: ``message`` is printed to stderr as is."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def add_source(verb: str, source: str, err: Exception) -> Exception:
    """``cmdutil.AddSourceToErr``: ``error when creating "x.yaml": ...``."""
    if not source:
        return err
    if isinstance(err, ApiError):
        new = type(err)(f'error when {verb} "{source}": {err.message}', details=dict(err.details))
        return new
    text = err.message if isinstance(err, CliError) else str(err)
    if text.startswith("error: "):
        text = text[len("error: ") :]
    return CliError(f'error: error when {verb} "{source}": {text}')


def message_for_error(err: Exception) -> str:
    """``StandardErrorMessage`` (or the plain text) of one error."""
    if isinstance(err, ApiError):
        if err.reason:
            return f"Error from server ({err.reason}): {err.message}"
        return f"Error from server: {err.message}"
    if isinstance(err, CliError):
        return err.message
    return str(err)


def _invalid_message(err: InvalidError) -> str:
    details: dict[str, Any] = err.details or {}
    if not details:
        return "The request is invalid"
    s = "The request is invalid"
    if details.get("kind") or details.get("name"):
        s = f'The {details.get("kind", "")} "{details.get("name", "")}" is invalid'
    causes = details.get("causes") or []
    msgs: list[str] = []
    for c in causes:
        m = f"{c.get('field', '')}: {c.get('message', '')}"
        if m not in msgs:
            msgs.append(m)
    if not msgs:
        return s
    if len(msgs) == 1:
        return f"{s}: {msgs[0]}"
    return f"{s}: \n" + "\n".join(f"* {m}" for m in msgs)


def format_errors(errors: list[Exception]) -> str:
    """What ``cmdutil.CheckErr`` prints for the errors of a command (no trailing newline)."""
    if not errors:
        return ""
    if len(errors) == 1:
        err = errors[0]
        if isinstance(err, InvalidError):
            return _invalid_message(err)
        if isinstance(err, ApiError):
            return message_for_error(err)
        msg = err.message if isinstance(err, CliError) else str(err)
        return msg if msg.startswith("error: ") or isinstance(err, CliError) else f"error: {msg}"
    return "\n".join(message_for_error(e) for e in errors)
