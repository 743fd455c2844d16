"""Aftercare Assistant: knowledge base, triage, storage, dashboard, channels and CLI.

Nothing in this package imports rasa_sdk; the action server adapters live in ``actions/``.
"""

__version__ = "0.1.0"
