"""Procedure names as patients type them map onto the canonical names."""

from __future__ import annotations

import pytest

from bot.knowledge import normalise_procedure

CASES = [
    ("dermapen", "dermapen"),
    ("Derma Pen", "dermapen"),
    ("derma-pen", "dermapen"),
    ("DermaPen", "dermapen"),
    ("derma roller", "derma_roller"),
    ("dermaroller", "derma_roller"),
    ("Derma-Roller", "derma_roller"),
    ("derma_roller", "derma_roller"),
    ("roller", "derma_roller"),
    ("microneedling", "microneedling"),
    ("micro needling", "microneedling"),
    ("Micro-Needling", "microneedling"),
    ("laser", None),
    ("", None),
    (None, None),
]


@pytest.mark.parametrize(("spoken", "canonical"), CASES)
def test_procedure_is_normalised(spoken: str | None, canonical: str | None) -> None:
    assert normalise_procedure(spoken) == canonical
