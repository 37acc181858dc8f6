"""The walls are in the code: the import graph of ``python/servicecidr`` (every import,
``TYPE_CHECKING`` and function-level ones included) has no cycle, and no module imports a
higher layer than its own (the layer order of ``../shared/DESIGN.md`` and the README)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "python" / "servicecidr"

#: Lowest first. A module may import its own layer and those below it.
LAYERS: list[tuple[str, ...]] = [
    (
        "servicecidr._core",
        "servicecidr.errors",
        "servicecidr.clock",
        "servicecidr.version",
        "servicecidr.rng",
    ),
    ("servicecidr.api", "servicecidr.yamldoc"),
    ("servicecidr.store", "servicecidr.journal"),
    ("servicecidr.allocation", "servicecidr.admission"),
    ("servicecidr.registry",),
    ("servicecidr.apiserver",),
    ("servicecidr.controllers", "servicecidr.consistency", "servicecidr.auditwriter"),
    ("servicecidr.cluster",),
    ("servicecidr.importers", "servicecidr.sim", "servicecidr.conformance"),
    ("servicecidr.sweep", "servicecidr.serve"),
    ("servicecidr.cli", "servicecidr.__main__"),
    ("servicecidr",),
]


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> int:
    best, rank = -1, -1
    for i, prefixes in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best:
                best, rank = len(p), i
    if rank < 0:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS and DESIGN.md")
    return rank


def imports_of(path: Path, module: str) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    is_pkg = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("servicecidr"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_pkg else 0)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if not target.startswith("servicecidr"):
                continue
            # `from servicecidr.x import y` may name a submodule y
            for a in node.names:
                sub = f"{target}.{a.name}"
                out.add(
                    sub
                    if (PACKAGE.parent / sub.replace(".", "/")).exists()
                    or (PACKAGE.parent / (sub.replace(".", "/") + ".py")).exists()
                    else target
                )
    return out


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules.update({module_name(p): p for p in PACKAGE.rglob("*.pyi") if p.stem != "_core"})
    g: dict[str, set[str]] = {}
    for name, path in modules.items():
        if path.suffix == ".pyi":
            continue
        g[name] = {m for m in imports_of(path, name) if m != name}
    return g


def test_no_module_imports_a_higher_layer() -> None:
    bad = []
    for module, deps in sorted(graph().items()):
        for dep in sorted(deps):
            if layer_of(dep) > layer_of(module):
                bad.append(
                    f"{module} (layer {layer_of(module)}) imports {dep} (layer {layer_of(dep)})"
                )
    assert not bad, "\n".join(bad)


def test_the_import_graph_has_no_cycle() -> None:
    g = graph()
    # Tarjan's strongly connected components; any with more than one module is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in g.get(v, ()):
            if w not in g:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


@pytest.mark.parametrize("module", sorted(graph()))
def test_every_module_has_a_layer(module: str) -> None:
    layer_of(module)
