"""How a patient's channel identity may be shown to staff and in alerts: partly hidden.

Enough to tell two patients apart or match a call-back number, not enough to read
someone's phone number over a colleague's shoulder or in a mail archive.
"""

from __future__ import annotations

import re
from typing import Optional

DOT = "\u2022"
_PHONE = re.compile(r"^\+?[\d\s().-]{7,}$")
_PHONE_CHANNELS = frozenset({"whatsapp", "twilio", "sms", "voice"})
_CHANNEL_PREFIXES = {"telegram": "tg", "facebook": "fb", "slack": "sl", "rest": "web", "socketio": "web"}


def _mask_phone(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    if value.strip().startswith("+"):
        return f"+{digits[:2]} {DOT * 3} {DOT * 3} {digits[-3:]}"
    return f"{DOT * 3} {DOT * 3} {digits[-3:]}"


def mask_identity(channel: str, channel_user_id: Optional[str], conversation_id: str = "") -> str:
    """Return a partly hidden identity, e.g. ``+44 ••• ••• 123`` or ``tg:••••5678``."""
    value = (channel_user_id or conversation_id or "").strip()
    # Conversation ids are namespaced by channel ("twilio:+44...", "telegram:42").
    if channel and value.lower().startswith(f"{channel.lower()}:"):
        value = value[len(channel) + 1 :]
    for scheme in ("whatsapp:", "tel:", "sms:"):
        if value.lower().startswith(scheme):
            value = value[len(scheme) :]
    if not value:
        return DOT * 4
    looks_like_phone = _PHONE.match(value) is not None and len(re.sub(r"\D", "", value)) >= 7
    if looks_like_phone and (value.startswith("+") or channel.lower() in _PHONE_CHANNELS):
        return _mask_phone(value)
    tail = value[-4:] if len(value) > 6 else ""
    prefix = _CHANNEL_PREFIXES.get(channel.lower(), channel.lower()[:8])
    return f"{prefix}:{DOT * 4}{tail}"
