"""The extraction gate in CI: the eval's own scoring on a fixed subset of each development set,
held to the floors pinned in ``eval/floors.json`` ("gate"). The whole sets are scored by
``python -m eval.extraction --all --check`` against the "full" floors.

Skipped, with the reason, where ``../shared/data/extraction`` (beside the repository) is absent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from eval.convert import convert_all
from eval.extraction import SHARED_DATA, check_floors, evaluate, load_floors, load_pages, table

GATE: dict[str, Any] = load_floors()["gate"]

pytestmark = pytest.mark.skipif(
    not SHARED_DATA.is_dir(), reason=f"no development data at {SHARED_DATA}"
)


@pytest.fixture(scope="module")
def sets() -> dict[str, Path]:
    return convert_all(SHARED_DATA)


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", sorted(GATE))
def test_extraction_meets_floors(name: str, sets: dict[str, Path]) -> None:
    if name not in sets:
        pytest.skip(f"set {name} is not in {SHARED_DATA}")
    floors = GATE[name]
    pages, skipped = load_pages(sets[name], floors["pages"])
    result = evaluate(pages, name, skipped)
    failures = check_floors(result, floors)
    assert not failures, "\n".join([table(result), *failures])
