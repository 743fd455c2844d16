"""Alert settings, read from ``Settings.extra`` (the ``AFTERCARE_*`` environment variables)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Mapping, Optional, Tuple

from bot.settings import Settings
from bot.storage.outbox import RetryPolicy

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})


def flag_from(extra: Mapping[str, str], name: str, default: bool = False) -> bool:
    """Read a yes/no environment variable."""
    value = extra.get(name)
    return default if value is None or value == "" else value.strip().lower() in TRUE_WORDS


def int_from(extra: Mapping[str, str], name: str, default: int) -> int:
    """Read a whole-number environment variable, refusing nonsense with a clear message."""
    value = extra.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {value!r}") from None


@dataclass(frozen=True)
class AlertConfig:
    """Where alerts go and how hard the worker tries."""

    dashboard_url: str
    smtp_host: Optional[str] = None
    smtp_port: int = 25
    smtp_from: Optional[str] = None
    recipients: Tuple[str, ...] = ()
    smtp_user: Optional[str] = None
    smtp_password: Optional[str] = None
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    webhook_url: Optional[str] = None
    timeout_seconds: int = 10
    poll_seconds: int = 15
    retry: RetryPolicy = RetryPolicy()

    @property
    def email_enabled(self) -> bool:
        return bool(self.smtp_host and self.smtp_from and self.recipients)

    @property
    def webhook_enabled(self) -> bool:
        return bool(self.webhook_url)

    def enabled(self, channel: str) -> bool:
        """Tell whether alerts can go out over ``channel`` ("email" or "webhook")."""
        return {"email": self.email_enabled, "webhook": self.webhook_enabled}.get(channel, False)

    @classmethod
    def from_settings(cls, settings: Settings) -> AlertConfig:
        extra = settings.extra
        recipients = tuple(
            address.strip()
            for address in extra.get("AFTERCARE_ALERT_EMAILS", "").split(",")
            if address.strip()
        )
        ssl = flag_from(extra, "AFTERCARE_SMTP_SSL")
        starttls = flag_from(extra, "AFTERCARE_SMTP_STARTTLS")
        default_port = 465 if ssl else (587 if starttls else 25)
        dashboard_url = extra.get("AFTERCARE_DASHBOARD_URL") or f"http://127.0.0.1:{settings.dashboard_port}"
        return cls(
            dashboard_url=dashboard_url.rstrip("/"),
            smtp_host=extra.get("AFTERCARE_SMTP_HOST") or None,
            smtp_port=int_from(extra, "AFTERCARE_SMTP_PORT", default_port),
            smtp_from=extra.get("AFTERCARE_SMTP_FROM") or None,
            recipients=recipients,
            smtp_user=extra.get("AFTERCARE_SMTP_USER") or None,
            smtp_password=extra.get("AFTERCARE_SMTP_PASSWORD") or None,
            smtp_starttls=starttls,
            smtp_ssl=ssl,
            webhook_url=extra.get("AFTERCARE_ALERT_WEBHOOK_URL") or None,
            timeout_seconds=int_from(extra, "AFTERCARE_ALERT_TIMEOUT_SECONDS", 10),
            poll_seconds=int_from(extra, "AFTERCARE_ALERT_POLL_SECONDS", 15),
            retry=RetryPolicy(
                max_attempts=int_from(extra, "AFTERCARE_ALERT_MAX_ATTEMPTS", 6),
                base_delay=timedelta(seconds=int_from(extra, "AFTERCARE_ALERT_RETRY_SECONDS", 30)),
            ),
        )
