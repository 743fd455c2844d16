"""The channels' own sentences load, fill in, and stay apart from the domain's responses."""

from __future__ import annotations

import pytest
import yaml

from bot.channels.messages import MESSAGES_FILE, WIDGET_LABELS, load_channel_texts, parse_channel_texts
from bot.settings import PROJECT_ROOT


def test_shipped_messages_are_valid():
    texts = load_channel_texts()
    assert set(WIDGET_LABELS) <= set(texts.widget)
    assert texts.widget["suggestions"]


def test_media_reply_is_filled_with_clinic_values():
    texts = load_channel_texts()
    values = texts.clinic_values({"clinic_name": "Rose Clinic", "clinic_phone": "+44 1"})
    text = texts.render(texts.media_reply, media=texts.media_name("image"), **values)
    assert "Rose Clinic" in text and "{" not in text


def test_missing_clinic_values_fall_back():
    texts = load_channel_texts()
    assert texts.clinic_values(None)["clinic_name"] == texts.fallback_values["clinic_name"]


def test_unknown_media_kinds_have_a_name():
    texts = load_channel_texts()
    assert texts.media_name("hologram") == texts.media_names["other"]


def test_no_sentence_duplicates_a_domain_response():
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
    responses = {v["text"] for variants in domain["responses"].values() for v in variants if "text" in v}
    data = yaml.safe_load(MESSAGES_FILE.read_text())
    ours = [data["media_reply"], *[v for v in data["widget"].values() if isinstance(v, str)]]
    assert not responses & set(ours)


def test_clinic_fallbacks_are_the_domain_slots_initial_values():
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
    texts = load_channel_texts()
    for key in ("clinic_name", "clinic_phone", "emergency_number"):
        assert texts.fallback_values[key] == domain["slots"][key]["initial_value"]
    assert "fallback_values" not in yaml.safe_load(MESSAGES_FILE.read_text())


@pytest.mark.parametrize("broken", ["media_reply", "media_names", "widget"])
def test_a_missing_section_is_refused(broken):
    data = yaml.safe_load(MESSAGES_FILE.read_text())
    del data[broken]
    with pytest.raises(ValueError):
        parse_channel_texts(data)


def test_a_missing_widget_label_is_refused():
    data = yaml.safe_load(MESSAGES_FILE.read_text())
    del data["widget"]["send_button"]
    with pytest.raises(ValueError):
        parse_channel_texts(data)
