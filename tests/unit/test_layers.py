"""The import rules of docs/architecture.md, checked on the source: a layer that reaches past
its neighbours fails here, not in review."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[2] / "src" / "broadsheet"

PACKAGES = {
    "models",
    "errors",
    "config",
    "pipeline",
    "storage",
    "services",
    "web",
    "workers",
    "cli",
    "demo",
}
# layer -> the project packages it must never import
FORBIDDEN: dict[str, set[str]] = {
    "models": PACKAGES,
    "errors": PACKAGES,
    "config": PACKAGES - {"errors"},
    "pipeline": {"storage", "services", "web", "workers", "cli", "demo"},
    "storage": {"pipeline", "services", "web", "workers", "cli", "demo"},
    "services": {"web", "workers", "cli", "demo"},
    "web": {"storage", "pipeline", "workers", "cli", "demo"},
    "workers": {"storage", "pipeline", "cli", "demo"},
    "cli": {"storage", "pipeline"},
    "demo": {"config", "storage", "pipeline", "services", "web", "workers", "cli"},
}


def _layer(path: Path) -> str:
    return path.relative_to(SRC).parts[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    """The top-level project packages a module imports (``broadsheet.X...`` -> X)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "broadsheet" and len(parts) > 1 and parts[1] in PACKAGES:
                found.add(parts[1])
    return found


MODULES = sorted(p for p in SRC.rglob("*.py") if _layer(p) in FORBIDDEN)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_module_respects_layering(path: Path) -> None:
    layer = _layer(path)
    wrong = (_imports(path) - {layer}) & FORBIDDEN[layer]
    assert not wrong, f"{layer} must not import {sorted(wrong)}"


def test_every_layer_is_checked() -> None:
    layers = {_layer(p) for p in SRC.rglob("*.py")} - {"__init__", "__main__"}
    assert layers <= set(FORBIDDEN)
