"""Dashboard settings, built from the typed ``settings.dashboard`` section."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Callable
from zoneinfo import ZoneInfo

from bot.secrets_store import load_secret
from bot.settings import MIN_SECRET_LENGTH, Settings
from bot.storage.login_throttle import ThrottlePolicy

SESSION_KEY_NAME = "dashboard_session_key"


class InsecureSecretKeyError(RuntimeError):
    """Raised when ``AFTERCARE_SECRET_KEY`` is set to something too short to be a real key."""


@dataclass(frozen=True)
class DashboardConfig:
    """How the dashboard behaves: cookies, sessions, login throttling, time zone, proxies."""

    https: bool = False
    session_lifetime: timedelta = timedelta(hours=8)
    throttle: ThrottlePolicy = ThrottlePolicy()
    timezone: str = "UTC"
    trusted_proxies: int = 0
    page_size: int = 50

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def from_settings(cls, settings: Settings) -> DashboardConfig:
        dashboard = settings.dashboard
        config = cls(
            https=dashboard.https,
            session_lifetime=timedelta(hours=dashboard.session_hours),
            throttle=ThrottlePolicy(
                free_failures=dashboard.login_free_failures,
                base_delay=timedelta(seconds=dashboard.login_delay_seconds),
                max_delay=timedelta(minutes=dashboard.login_max_delay_minutes),
                address_free_failures=dashboard.login_address_free_failures,
                alert_failures=dashboard.login_alert_failures,
            ),
            timezone=dashboard.timezone,
            trusted_proxies=dashboard.trusted_proxies,
        )
        _ = config.zone  # fail at start-up, not on the first page, if the zone name is wrong
        return config


def session_key_source(settings: Settings) -> Callable[[], str]:
    """Return how to read the session signing key: pinned by the environment, else generated.

    A generated key is read again on every request, so ``aftercare secrets rotate
    dashboard_session_key`` logs everybody out at once, without a restart.
    """
    pinned = settings.secret_key
    if pinned:
        if len(pinned) < MIN_SECRET_LENGTH:
            raise InsecureSecretKeyError(
                f"AFTERCARE_SECRET_KEY must be a random value of at least {MIN_SECRET_LENGTH} characters; "
                "unset it to have one generated into var/secrets/, or generate one with: "
                "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        return lambda: pinned
    var_dir = settings.var_dir
    load_secret(SESSION_KEY_NAME, var_dir=var_dir)  # generate it now, not on the first request
    return lambda: load_secret(SESSION_KEY_NAME, var_dir=var_dir)
