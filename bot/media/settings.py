"""The media settings of this process, read once (connectors are built by Rasa without ours)."""

from __future__ import annotations

from bot.settings import MediaSettings, process_settings


def media_settings() -> MediaSettings:
    """Size limit, download timeout and folder for photos."""
    return process_settings().media
