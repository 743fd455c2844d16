"""What an escalation alert says: the level, how late, who is asked, a link; no patient text."""

from __future__ import annotations

from bot.alerts.message import AlertMessage, compose, flag_values
from bot.storage.deadline_models import EscalationAlert
from bot.storage.models import Flag


def build_escalation_message(
    alert: EscalationAlert, flag: Flag, dashboard_url: str, target: str
) -> AlertMessage:
    """Compose the alert for one escalation step (templates in ``bot/alerts/templates``).

    ``target`` is the level's response target as words ("30 minutes").
    """
    values = {
        "priority": alert.priority,
        **flag_values(flag, alert.level, dashboard_url),
        "recipient": alert.recipient_name,
        "step": int(alert.step),
        "target": target,
        "out_of_hours": bool(alert.out_of_hours),
    }
    fields = {
        "event": "deadline_missed",
        "idempotency_key": f"escalation:{alert.id}",
        **{
            key: values[key] for key in ("priority", "level", "flag_id", "patient", "channel", "step", "link")
        },
        "recipient": alert.recipient_name,
    }
    return compose("escalation_", values, fields)
