"""Dashboard settings, read from ``Settings.extra`` (the ``AFTERCARE_*`` environment variables)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.alerts.config import flag_from, int_from
from bot.settings import DEFAULT_SECRET, Settings
from bot.storage.staff import LockoutPolicy

MIN_SECRET_LENGTH = 32


class InsecureSecretKeyError(RuntimeError):
    """Raised when the dashboard would sign sessions with a guessable key outside development."""


@dataclass(frozen=True)
class DashboardConfig:
    """How the dashboard behaves: cookies, sessions, lockout, time zone, proxies."""

    https: bool = False
    session_lifetime: timedelta = timedelta(hours=8)
    lockout: LockoutPolicy = LockoutPolicy()
    timezone: str = "UTC"
    trusted_proxies: int = 0
    page_size: int = 50

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def from_settings(cls, settings: Settings) -> DashboardConfig:
        extra = settings.extra
        config = cls(
            https=flag_from(extra, "AFTERCARE_DASHBOARD_HTTPS"),
            session_lifetime=timedelta(hours=int_from(extra, "AFTERCARE_DASHBOARD_SESSION_HOURS", 8)),
            lockout=LockoutPolicy(
                max_failures=int_from(extra, "AFTERCARE_LOGIN_MAX_FAILURES", 5),
                duration=timedelta(minutes=int_from(extra, "AFTERCARE_LOGIN_LOCKOUT_MINUTES", 15)),
            ),
            timezone=extra.get("AFTERCARE_TIMEZONE") or "UTC",
            trusted_proxies=int_from(extra, "AFTERCARE_DASHBOARD_TRUSTED_PROXIES", 0),
        )
        _ = config.zone  # fail at start-up, not on the first page, if the zone name is wrong
        return config


def check_secret_key(settings: Settings) -> None:
    """Refuse the default or a short secret key anywhere but in development."""
    if settings.environment == "development":
        return
    if settings.secret_key == DEFAULT_SECRET or len(settings.secret_key) < MIN_SECRET_LENGTH:
        raise InsecureSecretKeyError(
            f"AFTERCARE_SECRET_KEY must be set to a random value of at least {MIN_SECRET_LENGTH} characters "
            f"when AFTERCARE_ENV is {settings.environment!r}; generate one with: "
            "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
