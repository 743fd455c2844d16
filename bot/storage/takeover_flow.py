"""What a takeover, a hand-back and a staff reply do together, each in the caller's transaction.

Taking over queues the patient's "a member of the team is now replying" notice; handing back
(or the idle timeout) queues "the assistant is back"; a staff reply is queued as an outbound
message and counts as activity. The notices are domain responses, rendered with the clinic's
values; their sentences live in ``takeover_messages.yml`` beside this module.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

import yaml
from sqlalchemy.orm import Session

from bot.knowledge import get_clinic_settings
from bot.settings import process_settings
from bot.storage import outbound
from bot.storage.db import utcnow
from bot.storage.takeover import (
    END_HANDBACK,
    END_IDLE,
    Takeover,
    TakeoverResult,
    end_takeover,
    idle_takeovers,
    open_takeover,
    take_over,
    touch,
)

MESSAGES_FILE = Path(__file__).with_name("takeover_messages.yml")
TAKEOVER_STARTED = "takeover_started"
TAKEOVER_ENDED = "takeover_ended"


class HeldByOtherError(RuntimeError):
    """Another member of staff holds the conversation; ``holder`` names them."""

    def __init__(self, holder: str) -> None:
        super().__init__("conversation held by another member of staff")
        self.holder = holder


@lru_cache(maxsize=2)
def _messages(path: Path) -> Dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return dict(data)


def notice_text(name: str, path: Path = MESSAGES_FILE, **values: str) -> str:
    """One notice, filled with the clinic's values and ``values`` (e.g. ``staff_name``)."""
    text = " ".join(str(_messages(path)[name]).split())
    return text.format_map({**get_clinic_settings().as_template_values(), **values})


def idle_timeout() -> timedelta:
    """The clinic's takeover idle timeout."""
    return timedelta(minutes=process_settings().staff_replies.takeover_idle_minutes)


def start_takeover(
    *, session: Session, conversation_id: str, staff: str, now: Optional[datetime] = None
) -> TakeoverResult:
    """Take a conversation over and tell the patient once who is replying now."""
    now = now or utcnow()
    result = take_over(
        session=session, conversation_id=conversation_id, staff=staff, idle_timeout=idle_timeout(), now=now
    )
    if result.new:
        outbound.queue_outbound(
            session,
            conversation_id=conversation_id,
            kind=outbound.KIND_NOTICE,
            text=notice_text(TAKEOVER_STARTED, staff_name=staff),
            key=f"takeover:{result.takeover.id}:start",
            now=now,
        )
    return result


def _end(session: Session, takeover: Takeover, by: str, reason: str, now: datetime) -> Takeover:
    end_takeover(session=session, takeover=takeover, by=by, reason=reason, now=now)
    outbound.queue_outbound(
        session,
        conversation_id=takeover.conversation_id,
        kind=outbound.KIND_NOTICE,
        text=notice_text(TAKEOVER_ENDED),
        key=f"takeover:{takeover.id}:end",
        now=now,
    )
    return takeover


def hand_back(
    *, session: Session, conversation_id: str, staff: str, now: Optional[datetime] = None
) -> Optional[Takeover]:
    """Return the conversation to the assistant, which tells the patient; None if nobody held it.

    Any member of staff may hand back (a colleague may have gone home); the audit log says who.
    """
    current = open_takeover(session=session, conversation_id=conversation_id)
    if current is None:
        return None
    return _end(session, current, staff, END_HANDBACK, now or utcnow())


def expire_idle(
    *,
    session: Session,
    channel: Optional[str] = None,
    timeout: Optional[timedelta] = None,
    now: Optional[datetime] = None,
) -> List[Takeover]:
    """End takeovers idle past the clinic's timeout; the assistant tells each patient it is back."""
    now = now or utcnow()
    expired = idle_takeovers(
        session=session, idle_timeout=timeout or idle_timeout(), channel=channel, now=now
    )
    return [_end(session, takeover, END_IDLE, END_IDLE, now) for takeover in expired]


def staff_reply(
    *,
    session: Session,
    conversation_id: str,
    staff: str,
    text: str,
    key: str,
    buttons: Optional[List[Mapping[str, str]]] = None,
    now: Optional[datetime] = None,
) -> outbound.OutboundMessage:
    """Queue a staff member's message to the patient; refused while a colleague holds the conversation."""
    now = now or utcnow()
    current = open_takeover(session=session, conversation_id=conversation_id)
    if current is not None and not current.idle(now, idle_timeout()):
        if current.staff != staff:
            raise HeldByOtherError(current.staff)
        touch(session=session, takeover=current, now=now)
    return outbound.queue_outbound(
        session,
        conversation_id=conversation_id,
        kind=outbound.KIND_STAFF,
        text=text,
        key=key,
        author=staff,
        buttons=buttons or (),
        now=now,
    )
