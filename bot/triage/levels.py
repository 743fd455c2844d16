"""Triage levels, ordered from harmless to life-threatening."""

from __future__ import annotations

from enum import Enum


class Level(Enum):
    """How soon a patient must act; members compare by severity (``Level.URGENT > Level.ROUTINE``)."""

    NONE = "none"
    SELF_CARE = "self_care"
    ROUTINE = "routine"
    URGENT = "urgent"
    EMERGENCY = "emergency"

    @property
    def rank(self) -> int:
        """Return the position of this level in the severity order (0 for NONE)."""
        return _ORDER.index(self)

    @classmethod
    def parse(cls, value: str | Level) -> Level:
        """Return the level named by ``value`` ("urgent", "Self-care", "EMERGENCY" or a Level).

        Raises:
            ValueError: if ``value`` names no level.
        """
        if isinstance(value, Level):
            return value
        key = str(value).strip().lower().replace("-", "_").replace(" ", "_")
        for level in cls:
            if level.value == key or level.name.lower() == key:
                return level
        raise ValueError(f"unknown triage level: {value!r}")

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Level):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Level):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Level):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Level):
            return NotImplemented
        return self.rank >= other.rank

    def __str__(self) -> str:
        return self.value


_ORDER = (Level.NONE, Level.SELF_CARE, Level.ROUTINE, Level.URGENT, Level.EMERGENCY)
