"""Fixtures of the server tests (see server_kit)."""

from tests.serve.server_kit import serve

__all__ = ["serve"]
