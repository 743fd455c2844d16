"""The patient channels by name, for the layers that cannot load the channel connectors.

The connectors (``bot.channels``, one module per provider) import Rasa, which the dashboard
and the action server never load; yet storage, settings, check-ins, the dashboard and the CLI
must know which channels a message can be sent on. So the names live here, once, and
everything else derives from the connector classes: a connector refuses to be defined unless
its ``CHANNEL`` is listed (``bot.channels.provider``), and a test checks that every listed
provider has its connector. Read them through the functions, at call time.
"""

from __future__ import annotations

from typing import Tuple

# Provider connectors, in the order the start-up banner and the credentials file list them.
PROVIDER_CHANNELS: Tuple[str, ...] = ("whatsapp", "telegram", "twilio")
WIDGET_CHANNEL = "widget"


def provider_channels() -> Tuple[str, ...]:
    """The channels served by a provider connector (``whatsapp``, ...)."""
    return PROVIDER_CHANNELS


def patient_channels() -> Tuple[str, ...]:
    """Every channel the assistant can write to outside a turn: the providers, then the widget."""
    return (*PROVIDER_CHANNELS, WIDGET_CHANNEL)


def provider_variable_prefixes() -> Tuple[str, ...]:
    """The prefix of each provider's environment variables (``AFTERCARE_WHATSAPP_``...)."""
    return tuple(f"AFTERCARE_{name.upper()}_" for name in PROVIDER_CHANNELS)
