"""Cached providers for the action server: load once per process, from the environment.

Actions take an optional knowledge base in their constructor for tests and otherwise
call these, so no file is read at import time.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Set

from bot.knowledge.base import KnowledgeBase
from bot.knowledge.clinic import get_clinic_settings
from bot.knowledge.loader import load_knowledge_base, read_domain_intents
from bot.knowledge.procedures import procedures_for_clinic
from bot.settings import Settings, process_settings

DOMAIN_FILE = "domain.yml"

__all__ = ["domain_intents", "get_clinic_settings", "get_knowledge_base"]


def domain_intents(settings: Settings) -> Set[str] | None:
    """Return the domain's intents, or None where no domain ships (e.g. an action server image)."""
    domain = settings.project_root / DOMAIN_FILE
    return read_domain_intents(domain) if domain.exists() else None


@lru_cache(maxsize=1)
def get_knowledge_base() -> KnowledgeBase:
    """Return the process-wide knowledge base (with the clinic's courses), loaded on first use."""
    settings = process_settings()
    procedures = procedures_for_clinic(settings.knowledge_dir, get_clinic_settings())
    return load_knowledge_base(settings.knowledge_dir, domain_intents(settings), procedures)
