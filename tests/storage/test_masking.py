"""Channel identities are shown partly hidden."""

from __future__ import annotations

import pytest

from bot.storage.masking import mask_identity

CASES = [
    ("twilio", "+447700900123", "+44 ••• ••• 123"),
    ("whatsapp", "whatsapp:+44 7700 900123", "+44 ••• ••• 123"),
    ("rest", "+1 (555) 010-4567", "+15 ••• ••• 567"),
    ("twilio", "07700900123", "••• ••• 123"),
    ("telegram", "12345678", "tg:••••5678"),
    ("rest", "b6f1c0de-5a2b-4e61-9d7a-2f0c3e4d9abc", "web:••••9abc"),
    ("custom_channel", "abc", "custom_c:••••"),
    ("telegram", "", "••••"),
]


@pytest.mark.parametrize("channel, identity, expected", CASES)
def test_identities_are_masked(channel, identity, expected):
    assert mask_identity(channel, identity) == expected


def test_the_conversation_id_stands_in_for_a_missing_identity():
    assert mask_identity("telegram", None, "987654321") == "tg:••••4321"
