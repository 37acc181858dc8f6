"""Errors as kubectl reports them (``k8s.io/kubectl/pkg/cmd/util/helpers.go``).

* one API error: ``Error from server (Reason): message``; an ``Invalid`` error prints
  ``The Kind "name" is invalid: field: detail`` (one cause per ``*`` line when several);
* several errors (``create -f`` of a file with two bad objects): one
  ``Error from server (Reason): message`` line each;
* anything else: ``error: message`` alone, or the plain message among several;
* an aggregate inside several errors (apply's mapping errors beside its request errors)
  reads as Go's ``aggregate.Error()``: ``[first, second]``.

Errors tied to a manifest get kubectl's ``AddSourceToErr`` prefix:
``error when creating "FILE": ...``.
"""

from __future__ import annotations

from typing import Any

from servicecidr.errors import ApiError, InvalidError

__all__ = ["Aggregate", "CliError", "add_source", "format_errors", "message_for_error"]


class CliError(Exception):
    """A failure that ends a command: ``message`` is printed to stderr as is."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class Aggregate(Exception):
    """Several errors as one (``utilerrors.NewAggregate``)."""

    def __init__(self, errors: list[Exception]) -> None:
        super().__init__(errors)
        self.errors = errors

    def text(self) -> str:
        """``aggregate.Error()``: the one message, or the distinct ones in brackets."""
        msgs: list[str] = []
        for e in self.errors:
            m = _plain(e)
            if m not in msgs:
                msgs.append(m)
        return msgs[0] if len(msgs) == 1 else "[" + ", ".join(msgs) + "]"


def _plain(err: Exception) -> str:
    """``err.Error()``: the message without the ``error: `` kubectl adds when it exits."""
    if isinstance(err, Aggregate):
        return err.text()
    if isinstance(err, ApiError):
        return err.message
    text = err.message if isinstance(err, CliError) else str(err)
    return text.removeprefix("error: ")


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
    """``messageForError``: ``StandardErrorMessage`` of an API error, else its text."""
    if isinstance(err, ApiError):
        # metav1.StatusReasonUnknown is "": an error the server did not classify
        if err.reason and err.reason != "Unknown":
            return f"Error from server ({err.reason}): {err.message}"
        return f"Error from server: {err.message}"
    return _plain(err)


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
    if len(errors) == 1 and isinstance(errors[0], Aggregate):
        errors = errors[0].errors  # checkErr: an aggregate is its errors
    if len(errors) == 1:
        err = errors[0]
        if isinstance(err, InvalidError):
            return _invalid_message(err)
        if isinstance(err, ApiError):
            return message_for_error(err)
        msg = err.message if isinstance(err, CliError) else str(err)
        return msg if msg.startswith("error: ") or isinstance(err, CliError) else f"error: {msg}"
    return "\n".join(message_for_error(e) for e in errors)
