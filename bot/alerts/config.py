"""Alert settings: the typed ``settings.alerts`` section with what it leaves open resolved."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any, Dict

from bot.settings import AlertSettings, Settings
from bot.storage.outbox import RetryPolicy


@dataclass(frozen=True)
class AlertConfig(AlertSettings):
    """Where alerts go and how hard the worker tries (the dashboard address and port resolved)."""

    dashboard_url: str = ""
    smtp_port: int = 25
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
        values: Dict[str, Any] = {item.name: getattr(alerts, item.name) for item in fields(AlertSettings)}
        dashboard_url = alerts.dashboard_url or f"http://127.0.0.1:{settings.dashboard_port}"
        values["dashboard_url"] = dashboard_url.rstrip("/")
        values["smtp_port"] = alerts.smtp_port or (
            465 if alerts.smtp_ssl else (587 if alerts.smtp_starttls else 25)
        )
        values["retry"] = RetryPolicy(alerts.max_attempts, timedelta(seconds=alerts.retry_seconds))
        return cls(**values)
