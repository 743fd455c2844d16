"""One home for the flag level and kind labels: every stored value has one, read by all."""

from __future__ import annotations

from bot.dashboard.presentation import messages
from bot.storage.vocabulary import FLAG_KINDS, FLAG_LEVELS, flag_labels


def test_every_level_and_kind_has_a_label() -> None:
    labels = flag_labels()
    assert set(labels["levels"]) == set(FLAG_LEVELS)
    assert set(labels["kinds"]) == set(FLAG_KINDS)
    assert all(word.strip() for group in labels.values() for word in group.values())


def test_the_dashboard_shows_the_same_words_as_the_alerts() -> None:
    assert messages()["levels"] == flag_labels()["levels"]
    assert messages()["kinds"] == flag_labels()["kinds"]
