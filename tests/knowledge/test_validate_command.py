"""``python -m bot.knowledge.validate``: a summary when valid, every problem and exit 1 otherwise."""

from __future__ import annotations

import io
from pathlib import Path

import yaml

from bot.knowledge.validate import run
from bot.settings import PROJECT_ROOT
from tests.knowledge.conftest import WriteKnowledge

DOMAIN = PROJECT_ROOT / "domain.yml"


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), env={}, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_shipped_knowledge_is_valid() -> None:
    code, out, err = _run("--domain", str(DOMAIN))
    assert (code, err) == (0, "")
    assert out.startswith("OK: ") and "Intents checked against the domain." in out


def test_problems_are_listed_with_exit_code_1(write_knowledge: WriteKnowledge) -> None:
    knowledge = write_knowledge(
        entries=[{"id": "one", "intents": ["ask_weather"], "answer": "Call {fax}.", "sources": ["a.txt"]}]
    )
    code, out, err = _run("--knowledge-dir", str(knowledge), "--domain", str(DOMAIN))
    assert (code, out) == (1, "")
    assert "knowledge/topics/test.yml: entry 'one': field 'intents': unknown intent 'ask_weather'" in err
    assert "entry 'one': field 'answer': unknown placeholder '{fax}'" in err
    assert err.endswith("2 problem(s) found.\n")


def test_clinic_problems_are_reported(tmp_path: Path) -> None:
    clinic = tmp_path / "clinic.yml"
    clinic.write_text(yaml.safe_dump({"clinic_name": "X"}), encoding="utf-8")
    code, _, err = _run("--clinic-file", str(clinic))
    assert code == 1 and "field 'phone': is missing" in err


def test_copied_wording_is_reported(write_knowledge: WriteKnowledge, tmp_path: Path) -> None:
    text = "Keep out of direct sunlight for three days and then wear sunscreen."
    knowledge = write_knowledge(
        entries=[{"id": "sun", "intents": ["ask_sun"], "answer": text, "sources": ["a.txt"]}]
    )
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "a.txt").write_text(
        "Please keep out of direct sunlight for three days and then rest.", encoding="utf-8"
    )
    code, _, err = _run("--knowledge-dir", str(knowledge), "--seeds", str(seeds))
    assert code == 1 and "entry 'sun': field 'answer': copies source wording" in err
