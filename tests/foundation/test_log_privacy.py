"""No patient data in logs: phone numbers, e-mails, WhatsApp ids and message text are masked."""

import logging
import subprocess
import sys

import pytest

from bot.log_privacy import MASK, RedactingFilter, redact

LEAKS = [
    ("call me on +44 7700 900123", "7700 900123"),
    ("or on 07700900123 please", "07700900123"),
    ("number (020) 7946-0958", "7946-0958"),
    ("mail jane.doe+x@example.co.uk now", "jane.doe"),
    ("ignoring redelivered message wamid.HBgLMTU1NTEyMzQ1NjcVAgASGBQzQTk=", "HBgLMTU1"),
    ("telegram chat 123456789", "123456789"),
    ('{"text": "I have a fever since \\"Monday\\"", "event": "rest.message.received.failure"}', "fever"),
    ("event=rest.message.received.failure text='my lips swell'", "lips"),
    ("An exception occured while handling user message 'my lips swell'.", "lips"),
    (
        "[SQL: INSERT INTO x VALUES (?, ?)]\n[parameters: ('patient-1', 'my lips swell')]\n(Background on",
        "lips",
    ),
]


@pytest.mark.parametrize("line, secret", LEAKS)
def test_patient_data_is_masked(line, secret):
    masked = redact(line)
    assert secret not in masked
    assert MASK in masked


@pytest.mark.parametrize(
    "line",
    [
        "2026-12-03 13:35:41 INFO Starting Rasa server on http://127.0.0.1:5005",
        "Action endpoint is up and running on http://127.0.0.1:5055 (rasa_sdk 3.6.2)",
        "alert 12 over email failed: timeout",
    ],
)
def test_operational_lines_stay_readable(line):
    assert redact(line) == line


def test_the_filter_masks_arguments_and_tracebacks():
    record = logging.LogRecord(
        "x", logging.ERROR, __file__, 1, "flag for %s failed", ("+44 7700 900123",), None
    )
    try:
        raise ValueError("could not store 'jane@example.com'")
    except ValueError:
        record.exc_info = sys.exc_info()
    assert RedactingFilter().filter(record)
    formatted = logging.Formatter().format(record)
    assert "7700" not in formatted and "jane@example.com" not in formatted
    assert "ValueError" in formatted


def test_installed_redaction_covers_handlers_added_later():
    script = (
        "import logging, sys\n"
        "from bot.log_privacy import install_log_redaction\n"
        "install_log_redaction()\n"
        "logging.basicConfig(stream=sys.stdout, level=logging.INFO)\n"
        "log = logging.getLogger('rasa.core.processor')\n"
        "log.error('sender %s wrote %s', '+15551234567', 'a@b.example')\n"
        "try:\n"
        "    raise RuntimeError('wamid.ABCDEF12345=')\n"
        "except RuntimeError:\n"
        "    logging.getLogger('sanic.error').exception('failed for 5551234567')\n"
    )
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert "sender <redacted> wrote <redacted>" in output
    assert "5551234567" not in output and "ABCDEF" not in output and "a@b.example" not in output
    assert "RuntimeError" in output
