"""The package as a Python user meets it: a wheel, installed where there is no Rust.

The wheel is built once per session with ``maturin build --release`` (the same cargo
invocation as ``./dev setup``'s ``maturin develop``, so cargo reuses that build), then
installed with pip into a fresh venv in a temporary folder, with every directory that
holds cargo, rustc or rustup taken off PATH for the install and every run: a wheel that
needed a compiler, a missing runtime dependency or a file left out of the wheel fails
here. ``servicecidr demo`` must then run the seed walkthrough from that venv.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUST_TOOLS = ("cargo", "rustc", "rustup")


def _without_rust(env: dict[str, str]) -> dict[str, str]:
    """``env`` with no Rust toolchain to be found: PATH entries holding one are dropped."""
    keep = [
        d
        for d in env.get("PATH", "").split(os.pathsep)
        if d and not any((Path(d) / tool).exists() for tool in RUST_TOOLS)
    ]
    out = {k: v for k, v in env.items() if not k.startswith(("CARGO", "RUSTUP", "PYTHON"))}
    out.pop("VIRTUAL_ENV", None)
    out["PATH"] = os.pathsep.join(keep)
    return out


def _run(args: list[str | Path], env: dict[str, str], cwd: Path) -> str:
    res = subprocess.run(
        [str(a) for a in args], env=env, cwd=cwd, capture_output=True, text=True, check=False
    )
    assert res.returncode == 0, f"{args}: exit {res.returncode}\n{res.stdout}\n{res.stderr}"
    return res.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    maturin = Path(sys.executable).parent / "maturin"
    if not maturin.exists():
        pytest.skip(f"maturin is not installed beside {sys.executable} (./dev setup)")
    out = tmp_path_factory.mktemp("dist")
    # The interpreter and VIRTUAL_ENV of `maturin develop`: pyo3's build script reruns
    # (and everything above it rebuilds) when either differs.
    env = dict(os.environ, VIRTUAL_ENV=sys.prefix)
    _run([maturin, "build", "--release", "-q", "-i", sys.executable, "--out", out], env, ROOT)
    (built,) = out.glob("servicecidr-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed by pip, Rust nowhere on PATH."""
    home = tmp_path_factory.mktemp("user")
    venv = home / "venv"
    env = _without_rust(dict(os.environ))
    assert all(shutil.which(tool, path=env["PATH"]) is None for tool in RUST_TOOLS)
    _run([sys.executable, "-m", "venv", venv], env, home)
    # Binary wheels only: nothing may be compiled. The pins of the test command
    # constrain the runtime dependencies, so the ranges must admit the tested versions.
    _run(
        [
            venv / "bin" / "python", "-m", "pip", "install", "-q", "--only-binary", ":all:",
            "-c", ROOT / "requirements-dev.txt", wheel,
        ],
        env,
        home,
    )  # fmt: skip
    return venv


def test_the_wheel_carries_its_license_and_compatible_ranges(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        (meta_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        meta = z.read(meta_name).decode()
        assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), names
    assert "License-Expression: Apache-2.0" in meta
    requires = re.findall(r"^Requires-Dist: (.+)$", meta, re.M)
    runtime = [r for r in requires if "extra ==" not in r]
    assert sorted(r.split(">=")[0].lower() for r in runtime) == ["msgpack", "pyyaml"]
    # Ranges, never pins: a pin in a library's metadata breaks its users' resolvers.
    specs = [r.split(";")[0] for r in requires]
    assert all("==" not in s and "<" in s for s in specs), requires


def test_the_version_comes_from_the_crate(wheel: Path, venv: Path) -> None:
    cargo = tomllib.loads((ROOT / "Cargo.toml").read_text())
    crate_version = cargo["workspace"]["package"]["version"]
    env = _without_rust(dict(os.environ))
    out = _run([venv / "bin" / "servicecidr", "--version"], env, venv.parent)
    # maturin spells a Cargo pre-release the Python way (1.2.0-beta.1 -> 1.2.0b1).
    release = crate_version.split("-")[0]
    assert out.strip().startswith(f"servicecidr {release}"), out
    assert wheel.name.startswith(f"servicecidr-{out.split()[1]}-")


def test_demo_runs_from_the_installed_wheel_without_rust(venv: Path) -> None:
    env = _without_rust(dict(os.environ))
    where = _run(
        [venv / "bin" / "python", "-c", "import servicecidr._core as c; print(c.__file__)"],
        env,
        venv.parent,
    )
    assert Path(where.strip()).is_relative_to(venv), where
    out = _run([venv / "bin" / "servicecidr", "demo"], env, venv.parent)
    assert "failed to allocate a serviceIP: range is full" in out
    assert 'servicecidrs.networking.k8s.io "newcidr1" not found' in out
