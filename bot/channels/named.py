"""The base of our Rasa input channels: a name, and the settings Rasa cannot hand them."""

from __future__ import annotations

from typing import ClassVar

from rasa.core.channels.channel import InputChannel

from bot.settings import Settings


class NamedInputChannel(InputChannel):
    """An input channel named by ``CHANNEL`` (its URL prefix, and the channel recorded on flags)."""

    CHANNEL: ClassVar[str] = ""

    @classmethod
    def name(cls) -> str:
        """The channel's name, also its URL prefix and the recorded input channel."""
        return cls.CHANNEL

    @staticmethod
    def environment_settings() -> Settings:
        """Read the settings: Rasa builds channels from credentials alone, so this is their entry point."""
        return Settings.from_env()
