"""Turn a staff-typed channel address into the conversation id the channel itself uses.

A check-in and the patient's replies must share one conversation, so the address is written
the way each connector names its senders: WhatsApp's webhook gives the number without "+",
Twilio gives it with "+", Telegram gives the chat id, the widget its session's sender id.
"""

from __future__ import annotations

import re

from bot.channel_names import patient_channels

_PHONE = re.compile(r"^\+?[0-9]{6,15}$")
_SEPARATORS = re.compile(r"[\s().-]")
# What a channel connector accepts as a sender id (bot.channels.text.valid_sender_id, one layer up).
_WIDGET_ID = re.compile(r"^[^\x00-\x20\x7f-\x9f\u2028\u2029\ud800-\udfff]{1,200}$")


class AddressError(ValueError):
    """The address cannot be a sender on that channel."""


def sender_id(channel: str, address: str) -> str:
    """Return the sender id ``channel`` will report for ``address``; raise AddressError if invalid."""
    # The channel column has no CHECK constraint (a new provider needs no migration): this is the check.
    if channel not in patient_channels():
        raise AddressError(f"unknown channel {channel!r}; expected one of {', '.join(patient_channels())}")
    address = address.strip()
    if channel in ("whatsapp", "twilio"):
        number = _SEPARATORS.sub("", address)
        if number.startswith("00"):
            number = "+" + number[2:]
        if not _PHONE.match(number) or not number.startswith("+"):
            raise AddressError("a phone number in international form is needed, e.g. +447700900123")
        return number.lstrip("+") if channel == "whatsapp" else number
    if channel == "telegram":
        if not re.fullmatch(r"-?[0-9]{1,20}", address):
            raise AddressError("a Telegram chat id (digits) is needed")
        return address
    if not _WIDGET_ID.match(address):
        raise AddressError("not a usable widget sender id")
    return address


def conversation_for(channel: str, address: str) -> str:
    """Return the conversation id of ``address`` on ``channel`` (``whatsapp:447700900123``)."""
    return f"{channel}:{sender_id(channel, address)}"  # as bot.channels.text.conversation_id names it
