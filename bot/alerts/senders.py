"""Delivering one alert message by email (SMTP) or webhook (JSON POST). Failures raise."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import requests

from bot.alerts.config import AlertConfig
from bot.alerts.message import AlertMessage


class DeliveryError(RuntimeError):
    """Raised when a channel did not accept the alert."""


def send_email(config: AlertConfig, message: AlertMessage) -> None:
    """Send ``message`` to every address in ``AFTERCARE_ALERT_EMAILS``."""
    if not config.email_enabled:
        raise DeliveryError("email alerts are not configured")
    email = EmailMessage()
    email["Subject"] = message.subject
    email["From"] = str(config.smtp_from)
    email["To"] = ", ".join(config.recipients)
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = make_msgid(domain=str(config.smtp_from).rpartition("@")[2] or None)
    email.set_content(message.text)
    smtp_class = smtplib.SMTP_SSL if config.smtp_ssl else smtplib.SMTP
    with smtp_class(str(config.smtp_host), config.smtp_port, timeout=config.timeout_seconds) as client:
        if config.smtp_starttls and not config.smtp_ssl:
            client.starttls(context=ssl.create_default_context())
        if config.smtp_user:
            client.login(config.smtp_user, config.smtp_password or "")
        refused = client.send_message(email)
    if refused:
        raise DeliveryError(f"recipients refused: {', '.join(sorted(refused))}")


def send_webhook(config: AlertConfig, message: AlertMessage) -> None:
    """POST ``message`` as JSON (``{"text": ...}`` suits Slack and Teams incoming webhooks)."""
    if not config.webhook_enabled:
        raise DeliveryError("webhook alerts are not configured")
    response = requests.post(str(config.webhook_url), json=message.payload, timeout=config.timeout_seconds)
    if response.status_code >= 300:
        raise DeliveryError(f"webhook answered HTTP {response.status_code}: {response.text[:200]}")


SENDERS = {"email": send_email, "webhook": send_webhook}
