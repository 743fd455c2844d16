"""What an escalation alert says: the level, how late, who is asked, a link; no patient text."""

from __future__ import annotations

from bot.alerts.message import AlertMessage, _environment
from bot.storage.deadline_models import EscalationAlert
from bot.storage.masking import mask_identity
from bot.storage.models import Flag
from bot.storage.vocabulary import flag_labels


def build_escalation_message(
    alert: EscalationAlert, flag: Flag, dashboard_url: str, target: str
) -> AlertMessage:
    """Compose the alert for one escalation step (templates in ``bot/alerts/templates``).

    ``target`` is the level's response target as words ("30 minutes").
    """
    labels = flag_labels()
    step = int(alert.step)
    values = {
        "priority": alert.priority,
        "level": alert.level,
        "level_label": labels["levels"].get(alert.level, alert.level),
        "kind_label": labels["kinds"].get(flag.kind, flag.kind),
        "flag_id": flag.id,
        "patient": mask_identity(flag.channel, flag.channel_user_id, flag.conversation_id),
        "channel": flag.channel,
        "recipient": alert.recipient_name,
        "step": step,
        "target": target,
        "out_of_hours": bool(alert.out_of_hours),
        "link": f"{dashboard_url.rstrip('/')}/flags/{flag.id}",
    }
    environment = _environment()
    subject = environment.get_template("escalation_subject.txt").render(values).strip()
    text = environment.get_template("escalation_body.txt").render(values).strip()
    payload = {
        "text": f"{subject}\n{text}",
        "aftercare": {
            "event": "deadline_missed",
            "idempotency_key": f"escalation:{alert.id}",
            **{
                key: values[key]
                for key in ("priority", "level", "flag_id", "patient", "channel", "step", "link")
            },
            "recipient": alert.recipient_name,
        },
    }
    return AlertMessage(subject=subject, text=text, payload=payload)
