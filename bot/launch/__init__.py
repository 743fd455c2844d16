"""Our own entry points for Rasa's servers, so we control what ``rasa run`` cannot be told.

Rasa takes its API token only on the command line (visible to every user in ``ps``), waits
up to 300 s for the action server, and its action server accepts any caller. These small
launchers read the token and the shared secret from the environment, shorten the action
timeout, and mask patient data in logs before handing over to Rasa in the same process.
"""

from __future__ import annotations

import os

from bot.log_privacy import install_log_redaction


def prepare_process() -> None:
    """Make files this process creates private and its logs free of patient data."""
    os.umask(0o077)
    install_log_redaction()
