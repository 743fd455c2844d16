"""The Level enum: its order, parsing and string form."""

from __future__ import annotations

import pytest

from bot.triage import Level


def test_levels_are_ordered_by_severity() -> None:
    assert Level.NONE < Level.SELF_CARE < Level.ROUTINE < Level.URGENT < Level.EMERGENCY
    assert Level.EMERGENCY > Level.URGENT >= Level.URGENT
    assert max(Level) == Level.EMERGENCY
    assert sorted([Level.URGENT, Level.NONE, Level.ROUTINE]) == [Level.NONE, Level.ROUTINE, Level.URGENT]


def test_values_are_the_slot_values() -> None:
    assert [level.value for level in Level] == ["none", "self_care", "routine", "urgent", "emergency"]
    assert str(Level.SELF_CARE) == "self_care"


@pytest.mark.parametrize(
    "text, level",
    [
        ("urgent", Level.URGENT),
        ("EMERGENCY", Level.EMERGENCY),
        (" self-care ", Level.SELF_CARE),
        ("self care", Level.SELF_CARE),
        ("none", Level.NONE),
        (Level.ROUTINE, Level.ROUTINE),
    ],
)
def test_parse(text: str, level: Level) -> None:
    assert Level.parse(text) is level


@pytest.mark.parametrize("text", ["", "critical", "urgentt"])
def test_parse_rejects_unknown_names(text: str) -> None:
    with pytest.raises(ValueError):
        Level.parse(text)


def test_levels_do_not_compare_with_strings() -> None:
    with pytest.raises(TypeError):
        assert Level.URGENT < "emergency"  # type: ignore[operator]
