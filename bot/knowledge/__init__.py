"""Aftercare knowledge: validated answers from YAML, filled in with the clinic's settings.

Typical use from an action::

    kb = get_knowledge_base()
    answer = kb.answer("ask_peeling", days_since=3, procedure="Dermapen", clinic=get_clinic_settings())
    if answer.found:
        ...  # send answer.text
"""

from bot.knowledge.base import Answer, KnowledgeBase
from bot.knowledge.clinic import ClinicSettings, get_clinic_settings, load_clinic_settings
from bot.knowledge.errors import KnowledgeError, Problem
from bot.knowledge.loader import load_knowledge_base, read_domain_intents
from bot.knowledge.procedures import Procedure, Procedures, get_procedures, normalise_procedure
from bot.knowledge.providers import get_knowledge_base

__all__ = [
    "Answer",
    "ClinicSettings",
    "KnowledgeBase",
    "KnowledgeError",
    "Problem",
    "Procedure",
    "Procedures",
    "get_clinic_settings",
    "get_knowledge_base",
    "get_procedures",
    "load_clinic_settings",
    "load_knowledge_base",
    "normalise_procedure",
    "read_domain_intents",
]
