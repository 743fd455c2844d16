"""The photo sentences: all present, filled with the clinic's values, none said about a photo's content."""

from __future__ import annotations

import pytest
import yaml

from bot.knowledge import get_clinic_settings
from bot.media.texts import MESSAGES_FILE, load_photo_texts, parse_photo_texts


def test_every_sentence_is_filled_with_the_clinic_values() -> None:
    texts = load_photo_texts()
    clinic = get_clinic_settings()
    for name in texts.sentences:
        said = texts.say(name)
        assert "{" not in said, name
    assert clinic.clinic_name in texts.say("consent")
    assert clinic.response_time in texts.say("received_reply")


def test_without_clinic_settings_the_domain_fallbacks_are_used() -> None:
    said = load_photo_texts().say("received_reply", clinic={})
    assert "{" not in said and load_photo_texts().sentences["response_time_fallback"] in said


def test_no_two_photo_sentences_are_the_same() -> None:
    sentences = list(load_photo_texts().sentences.values())
    assert len(set(sentences)) == len(sentences)


@pytest.mark.parametrize("missing", ["received_reply", "consent", "widget"])
def test_a_missing_sentence_is_refused_at_load(missing: str) -> None:
    data = yaml.safe_load(MESSAGES_FILE.read_text(encoding="utf-8"))
    del data[missing]
    with pytest.raises(ValueError):
        parse_photo_texts(data)
