"""Keep patient data out of logs: mask phone numbers, e-mails, provider ids and message text.

Installed once per process (Rasa, action server, dashboard, CLI) as the log-record factory,
so every record is masked when it is created, whichever logger or handler (Rasa's, sanic's,
structlog's, ours) ends up writing it, including handlers configured after start-up. The
supervisor passes every relayed line through :func:`redact` as a second net for output that
bypasses ``logging`` (prints, tracebacks of dying processes).
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any, Callable, List, Pattern, Tuple

MASK = "<redacted>"

# Order matters: message text first (it may hold numbers), then ids, e-mails, numbers.
_RULES: List[Tuple[Pattern[str], str]] = [
    # structlog events rendered as JSON or key=value (Rasa logs ``text=`` on webhook failures).
    (
        re.compile(r'("(?:text|user_message|json_message|message_text|body)"\s*:\s*)"(?:[^"\\]|\\.)*"'),
        rf'\1"{MASK}"',
    ),
    (
        re.compile(r"\b((?:text|user_message|json_message)=)('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|\S+)"),
        rf"\1{MASK}",
    ),
    # Rasa's own phrasings that quote what the patient wrote.
    (
        re.compile(r"((?:user message|user utterance|message) ')(?:[^'\\]|\\.)*(')", re.IGNORECASE),
        rf"\1{MASK}\2",
    ),
    # SQLAlchemy error texts list the bound values (message text, sender ids).
    (re.compile(r"\[parameters: .*?\](?=\s*(?:\n|$|\(Background))", re.DOTALL), f"[parameters: {MASK}]"),
    # WhatsApp message ids are base64 of the phone number.
    (re.compile(r"wamid\.[A-Za-z0-9_=+/.-]+"), f"wamid.{MASK}"),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), MASK),
    # Phone numbers with separators (not ISO dates), then any long run of digits.
    (
        re.compile(r"(?<![\w+])(?!\d{4}-\d\d-\d\d(?!\d))\+?\(?\d(?:[ ()-]{0,2}\d){7,16}(?![\w])"),
        MASK,
    ),
    (re.compile(r"\d{7,}"), MASK),
]


def redact(text: str) -> str:
    """Return ``text`` with patient identifiers and quoted message text masked."""
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Mask the message, its arguments and its traceback text in place."""
    try:
        message = record.getMessage()
    except Exception:  # a malformed call must still be logged, just not its arguments
        message = str(record.msg)
    masked = redact(message)
    if masked != message or record.args:
        record.msg, record.args = masked, ()
    if record.exc_info and not record.exc_text:
        record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


class RedactingFilter(logging.Filter):
    """A handler filter form of :func:`redact_record`, for handlers set up by hand."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record; never drop it."""
        redact_record(record)
        return True


_installed = False


def install_log_redaction() -> None:
    """Mask every log record this process creates from now on (idempotent)."""
    global _installed
    if _installed:
        return
    previous: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact_record(previous(*args, **kwargs))

    logging.setLogRecordFactory(factory)
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter())
    _installed = True
