"""Source documents: staff check an answer against the file, patients read its title.

``knowledge/sources.yml`` names each document by its file name (what staff and the
validator use) with a ``title`` and, where the clinic provides them, a ``url`` patients can
open and the name of the printed ``leaflet`` they were given. How a patient reads a
citation is worded in ``citations.yml`` beside this module; a file name never reaches them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, List, Mapping, Optional, Tuple

import yaml

from bot.knowledge.errors import Problem

SOURCE_KEYS = ("title", "url", "leaflet", "notes")
CITATIONS_FILE = Path(__file__).with_name("citations.yml")
CITATION_FORMATS = ("title", "with_url", "with_leaflet", "with_leaflet_and_url")
_URL = re.compile(r"^https?://[^\s<>\"']+$")


@dataclass(frozen=True)
class SourceDocument:
    """One document answers are based on."""

    file: str
    title: str
    url: Optional[str] = None
    leaflet: Optional[str] = None

    @property
    def for_staff(self) -> str:
        """Its title followed by the exact file name, so staff can find the document."""
        return f"{self.title} ({self.file})"

    def for_patient(self, formats: Optional[Mapping[str, str]] = None) -> str:
        """How a patient reads it: the title, with the leaflet and the link when there are any."""
        formats = formats or citation_formats()
        key = "with_leaflet" if self.leaflet else "title"
        if self.url:
            key = "with_leaflet_and_url" if self.leaflet else "with_url"
        return formats[key].format(title=self.title, url=self.url or "", leaflet=self.leaflet or "")


@cache
def citation_formats(path: Path = CITATIONS_FILE) -> Mapping[str, str]:
    """Read the citation wordings; a missing or extra one is a packaging error, not content."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or set(raw) != set(CITATION_FORMATS):
        raise ValueError(f"{path.name} must define exactly: {', '.join(CITATION_FORMATS)}")
    return {str(key): str(value) for key, value in raw.items()}


def _optional_text(
    details: Mapping[str, Any], key: str, file: str, label: str, problems: List[Problem]
) -> Optional[str]:
    value = details.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        problems.append(Problem(file, "must be non-empty text when given", entry=label, field=key))
        return None
    return " ".join(value.split())


def read_source(label: str, details: Any, file: str) -> Tuple[Optional[SourceDocument], List[Problem]]:
    """Validate one ``sources.yml`` entry: a title, optionally a url (http/https) and a leaflet name."""
    if not isinstance(details, dict):
        return None, [Problem(file, "must be a mapping with a title", entry=label)]
    problems = [
        Problem(file, f"unknown key (allowed: {', '.join(SOURCE_KEYS)})", entry=label, field=str(key))
        for key in details
        if key not in SOURCE_KEYS
    ]
    title = details.get("title")
    if not isinstance(title, str) or not title.strip():
        problems.append(Problem(file, "must be non-empty text", entry=label, field="title"))
        return None, problems
    url = _optional_text(details, "url", file, label, problems)
    if url is not None and not _URL.match(url):
        problems.append(
            Problem(file, "must be a web address starting with https://", entry=label, field="url")
        )
    leaflet = _optional_text(details, "leaflet", file, label, problems)
    return SourceDocument(label, " ".join(title.split()), url, leaflet), problems
