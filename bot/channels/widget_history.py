"""Turn a conversation's Rasa events into what the website widget shows.

The urgency of a reply is decided here, on the server, from the name of the response the
assistant chose (the safety layer's escalation responses), never from its wording.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from bot.safety import ESCALATION_RESPONSES

LEVEL_OF_RESPONSE: Mapping[str, str] = {
    response: level.value for level, response in ESCALATION_RESPONSES.items()
}
HISTORY_LIMIT = 200


def since_last_silence(
    events: Sequence[Mapping[str, Any]], silence_seconds: float
) -> List[Mapping[str, Any]]:
    """Keep the events after the last session that began with ``silence_seconds`` of silence.

    A reload shows what the patient saw since they last came back after a day away (the
    domain's session expiry), not just the current Rasa session: sessions also roll over
    after a few dozen turns (``bot.launch.sessions``) and the patient must not lose those.
    """
    start = 0
    last_at: Optional[float] = None
    for index, event in enumerate(events):
        at = float(event.get("timestamp") or 0.0)
        came_back = last_at is not None and at - last_at >= silence_seconds
        if event.get("event") == "session_started" and came_back:
            start = index
        if event.get("event") in ("user", "bot"):
            last_at = at
    return list(events[start:])


def reply_level(utter_action: Optional[str]) -> Optional[str]:
    """Return the triage level a reply escalates to ("urgent", ...), or None for ordinary replies."""
    return LEVEL_OF_RESPONSE.get(utter_action or "")


def button_titles(buttons: Optional[Iterable[Mapping[str, Any]]]) -> List[Dict[str, str]]:
    """Keep only the buttons' titles: a tap sends the title back as ordinary text."""
    return [{"title": str(b["title"])} for b in buttons or [] if isinstance(b, Mapping) and b.get("title")]


def bot_message(text: Optional[str], utter_action: Optional[str], buttons: Any = None) -> Dict[str, Any]:
    """One assistant message as the widget renders it."""
    return {
        "from": "bot",
        "text": text or "",
        "level": reply_level(utter_action),
        "buttons": button_titles(buttons),
    }


def client_id(message_id: Optional[str]) -> Optional[str]:
    """The browser's own id of a message (Rasa keeps ``<session>:<client id>``)."""
    return message_id.rsplit(":", 1)[-1] if message_id else message_id


def outbound_message(row: Mapping[str, Any]) -> Dict[str, Any]:
    """A staff reply or assistant notice (``bot.storage.outbound``) as the widget renders it."""
    return {
        "from": "staff" if row["kind"] == "staff" else "assistant",
        "text": row["text"],
        "id": f"outbound-{row['id']}",
        "level": None,
        "buttons": button_titles(row.get("buttons")),
    }


def photo_message(photo: Mapping[str, Any]) -> Dict[str, Any]:
    """A photo the patient sent without words, as the widget renders it."""
    mid = client_id(str(photo["message_id"]))
    return {"from": "user", "text": "", "id": mid, "photo": {"id": photo["id"]}}


def history(
    events: Iterable[Mapping[str, Any]],
    limit: int = HISTORY_LIMIT,
    outbound: Sequence[Mapping[str, Any]] = (),
    photos: Sequence[Mapping[str, Any]] = (),
) -> List[Dict[str, Any]]:
    """Return the visible messages of a conversation (oldest first, at most ``limit``).

    ``outbound`` rows (each with ``at``, a POSIX time) are placed among the turns by time.
    ``photos`` (``id``, ``message_id``, ``at``) join the patient's message they came with (its
    caption), or stand as a message of their own; the widget fetches them by id.
    """
    timed: List[Tuple[float, Dict[str, Any]]] = []
    unplaced = {str(photo["message_id"]): photo for photo in photos}
    for event in events:
        kind = event.get("event")
        at = float(event.get("timestamp") or 0.0)
        if kind == "user" and event.get("text"):
            message = {"from": "user", "text": event["text"], "id": client_id(event.get("message_id"))}
            photo = unplaced.pop(str(event.get("message_id")), None)
            if photo is not None:
                message["photo"] = {"id": photo["id"]}
            timed.append((at, message))
        elif kind == "bot" and (event.get("text") or (event.get("data") or {}).get("buttons")):
            data = event.get("data") or {}
            metadata = event.get("metadata") or {}
            timed.append(
                (at, bot_message(event.get("text"), metadata.get("utter_action"), data.get("buttons")))
            )
    timed += [(float(row["at"]), outbound_message(row)) for row in outbound]
    timed += [(float(photo["at"]), photo_message(photo)) for photo in unplaced.values()]
    timed.sort(key=lambda pair: pair[0])  # stable: a turn's own events keep their order
    return [message for _, message in timed][-limit:]
