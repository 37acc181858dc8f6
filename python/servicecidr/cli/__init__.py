"""The ``servicecidr`` command line."""

from servicecidr.cli.main import main

__all__ = ["main"]
