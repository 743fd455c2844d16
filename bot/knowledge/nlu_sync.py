"""Write the NLU data about procedures from ``knowledge/procedures.yml``, never by hand.

The synonyms (every spelling -> the procedure id the ``procedure`` slot holds), the lookup table
(a feature hint for the classifier) and a few annotated ``inform`` examples per procedure (so a
newly added procedure is extracted at all) are generated into ``data/nlu/procedures.yml``;
a test fails when that file is out of date.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, List

from bot.knowledge.procedures import Procedure, Procedures

NLU_FILE = Path("data") / "nlu" / "procedures.yml"
ENTITY = "procedure"
INFORM_INTENT = "inform"
# Sentences a patient uses to say which treatment they had; {name} is a spelling.
INFORM_TEMPLATES = (
    "the treatment I had was [{name}]({entity})",
    "I came in for [{name}]({entity})",
    "my appointment was for [{name}]({entity})",
)
# How many spellings (display name first) get the example sentences.
EXAMPLE_SPELLINGS = 2
HEADER = (
    "# Generated from knowledge/procedures.yml by `aftercare knowledge sync-nlu`: do not edit by hand.\n"
    "# Synonyms map every spelling onto the procedure id (the `procedure` slot); the lookup table\n"
    "# is a feature hint for the classifier; the inform examples teach it each procedure's name.\n"
)


def _distinct(texts: Iterable[str]) -> List[str]:
    seen = set()
    result = []
    for text in texts:
        if text.casefold() not in seen:
            seen.add(text.casefold())
            result.append(text)
    return result


def synonym_texts(procedure: Procedure) -> List[str]:
    """Return the texts the synonym mapper turns into ``procedure.id``.

    The mapper lower-cases before looking up and skips a text equal to its value, so a
    capitalised id ("Microneedling") is listed to make "MICRONEEDLING" map too.
    """
    texts = _distinct([*procedure.names.values(), *procedure.spellings])
    if procedure.id.isalpha() and not any(
        text != procedure.id and text.casefold() == procedure.id for text in texts
    ):
        texts = _distinct([procedure.id.capitalize(), *texts])
    return [text for text in texts if text != procedure.id]


def _example_block(lines: Iterable[str]) -> str:
    return "".join(f"    - {line}\n" for line in lines)


def render_nlu(procedures: Procedures) -> str:
    """Return the text of ``data/nlu/procedures.yml`` for ``procedures``."""
    parts = [HEADER, 'version: "3.1"\n', "nlu:\n"]
    for procedure in procedures.procedures:
        parts.append(f"- synonym: {procedure.id}\n  examples: |\n")
        parts.append(_example_block(synonym_texts(procedure)))
        parts.append("\n")
    spellings = _distinct(
        text
        for procedure in procedures.procedures
        for text in (*procedure.names.values(), *procedure.spellings)
    )
    parts.append(f"- lookup: {ENTITY}\n  examples: |\n")
    parts.append(_example_block(spellings))
    parts.append(f"\n- intent: {INFORM_INTENT}\n  examples: |\n")
    examples = [
        template.format(name=name, entity=ENTITY)
        for procedure in procedures.procedures
        for name in _distinct([procedure.name(), *procedure.spellings])[:EXAMPLE_SPELLINGS]
        for template in INFORM_TEMPLATES
    ]
    parts.append(_example_block(examples))
    return "".join(parts)


def sync_nlu(procedures: Procedures, project_root: Path, check: bool = False) -> bool:
    """Write the generated file under ``project_root``; return True when it was already up to date.

    With ``check`` nothing is written.
    """
    path = project_root / NLU_FILE
    text = render_nlu(procedures)
    current = path.read_text(encoding="utf-8") if path.is_file() else None
    if current == text:
        return True
    if not check:
        path.write_text(text, encoding="utf-8")
    return False
