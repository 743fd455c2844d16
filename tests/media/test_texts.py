"""The photo sentences: all present, filled with the clinic's values, none said about a photo's content."""

from __future__ import annotations

import pytest
import yaml

from bot.knowledge import get_clinic_settings
from bot.knowledge.clinic import SHIPPED_EXAMPLE, load_clinic_file
from bot.knowledge.errors import KnowledgeError
from bot.media.texts import CLINIC_CONSENT_KEY, MESSAGES_FILE, load_photo_texts, parse_photo_texts


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


def _clinic_file(tmp_path, **extra: str):
    data = yaml.safe_load(SHIPPED_EXAMPLE.read_text(encoding="utf-8"))
    data.update(extra)
    path = tmp_path / "clinic.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_a_clinic_words_its_own_photo_consent_in_the_clinic_file(tmp_path) -> None:
    own = "Only our nurses at {clinic_name} see your photos; we delete them after a year."
    clinic = load_clinic_file(_clinic_file(tmp_path, photo_consent=own))
    values = {**clinic.as_template_values(), CLINIC_CONSENT_KEY: clinic.photo_consent}
    said = load_photo_texts().say("consent", values)
    assert said == own.format(clinic_name=clinic.clinic_name)
    # Without it, the shipped wording.
    shipped = load_clinic_file(_clinic_file(tmp_path))
    default = load_photo_texts().say("consent", shipped.as_template_values())
    assert default != said and shipped.clinic_name in default


@pytest.mark.parametrize("value", ["", "   ", 42])
def test_an_empty_or_non_text_photo_consent_is_refused(tmp_path, value) -> None:
    with pytest.raises(KnowledgeError) as raised:
        load_clinic_file(_clinic_file(tmp_path, photo_consent=value))
    assert "photo_consent" in str(raised.value)
