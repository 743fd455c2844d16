"""Alert settings, built from the typed ``settings.alerts`` section."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Optional, Tuple

from bot.settings import Settings
from bot.storage.outbox import RetryPolicy


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
        alerts = settings.alerts
        default_port = 465 if alerts.smtp_ssl else (587 if alerts.smtp_starttls else 25)
        dashboard_url = alerts.dashboard_url or f"http://127.0.0.1:{settings.dashboard_port}"
        return cls(
            dashboard_url=dashboard_url.rstrip("/"),
            smtp_host=alerts.smtp_host,
            smtp_port=alerts.smtp_port or default_port,
            smtp_from=alerts.smtp_from,
            recipients=alerts.recipients,
            smtp_user=alerts.smtp_user,
            smtp_password=alerts.smtp_password,
            smtp_starttls=alerts.smtp_starttls,
            smtp_ssl=alerts.smtp_ssl,
            webhook_url=alerts.webhook_url,
            timeout_seconds=alerts.timeout_seconds,
            poll_seconds=alerts.poll_seconds,
            retry=RetryPolicy(
                max_attempts=alerts.max_attempts, base_delay=timedelta(seconds=alerts.retry_seconds)
            ),
        )
