"""The installed package's version, readable from any layer without importing the facade."""

from __future__ import annotations

from importlib import metadata as _metadata

# The one version lives in Cargo.toml; maturin writes it into the package metadata.
try:
    __version__: str = _metadata.version("servicecidr")
except _metadata.PackageNotFoundError:  # a source tree used without being installed
    __version__ = "0+unknown"
