"""Check the knowledge folder and clinic settings: ``python -m bot.knowledge.validate``.

Meant for clinic staff after editing YAML and for CI: prints a summary when everything
loads, otherwise every problem (file, entry, field) and exits with status 1.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace
from pathlib import Path
from typing import List, Sequence, Set, TextIO, Tuple

from bot.knowledge.base import KnowledgeBase
from bot.knowledge.clinic import ClinicSettings, load_clinic_settings
from bot.knowledge.errors import KnowledgeError, Problem
from bot.knowledge.loader import load_knowledge_base, read_domain_intents, topic_files
from bot.knowledge.originality import copied_runs
from bot.knowledge.procedures import procedures_for_clinic
from bot.settings import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot.knowledge.validate",
        description="Validate aftercare knowledge and clinic settings.",
    )
    parser.add_argument(
        "--knowledge-dir", type=Path, help="knowledge folder (default: AFTERCARE_KNOWLEDGE_DIR)"
    )
    parser.add_argument(
        "--clinic-file", type=Path, help="clinic settings file (default: AFTERCARE_CLINIC_FILE)"
    )
    parser.add_argument("--domain", type=Path, help="Rasa domain file or folder listing the intents")
    parser.add_argument(
        "--seeds", type=Path, help="folder of source documents; checks answers are not copied"
    )
    return parser


def _settings(args: argparse.Namespace, env: dict | None) -> Settings:
    settings = Settings.from_env(env)
    if args.knowledge_dir is not None:
        settings = replace(
            settings, knowledge_dir=args.knowledge_dir, clinic_file=args.knowledge_dir / "clinic.yml"
        )
    if args.clinic_file is not None:
        settings = replace(settings, clinic_file=args.clinic_file)
    return settings


def rendering_problems(kb: KnowledgeBase, clinic: ClinicSettings, seeds: Path | None) -> List[Problem]:
    """Render every entry with the clinic; report leftover braces and text copied from the seeds."""
    seed_texts = [path.read_text(encoding="utf-8") for path in sorted(seeds.glob("*.txt"))] if seeds else []
    problems = []
    for entry in kb.entries:
        text = kb.render(entry, clinic)
        if "{" in text or "}" in text:
            problems.append(Problem(entry.file, "still contains braces after filling in", entry.id, "answer"))
        for run in copied_runs(text, seed_texts):
            problems.append(Problem(entry.file, f"copies source wording: '{run}'", entry.id, "answer"))
    return problems


def _load_all(settings: Settings, intents: Set[str] | None) -> Tuple[KnowledgeBase, ClinicSettings]:
    """Load the clinic, the procedures with its courses and the knowledge; raise every problem found."""
    problems: List[Problem] = []
    clinic: ClinicSettings | None = None
    try:
        clinic = load_clinic_settings(settings)
    except KnowledgeError as error:
        problems.extend(error.problems)
    try:
        procedures = procedures_for_clinic(settings.knowledge_dir, clinic)
        kb = load_knowledge_base(settings.knowledge_dir, intents, procedures)
    except KnowledgeError as error:
        problems.extend(error.problems)
    if problems or clinic is None:
        raise KnowledgeError(problems)
    return kb, clinic


def run(
    argv: Sequence[str] | None = None,
    env: dict | None = None,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    """Validate and report; return the process exit code."""
    args = _parser().parse_args(argv)
    settings = _settings(args, env)
    domain = args.domain or settings.project_root / "domain.yml"
    try:
        intents = read_domain_intents(domain) if args.domain or domain.exists() else None
        kb, clinic = _load_all(settings, intents)
        if args.seeds is not None and not args.seeds.is_dir():
            raise KnowledgeError([Problem(args.seeds.as_posix(), "is not a folder")])
        problems = rendering_problems(kb, clinic, args.seeds)
        if problems:
            raise KnowledgeError(problems)
    except KnowledgeError as error:
        for problem in error.problems:
            print(problem, file=err)
        print(f"{len(error.problems)} problem(s) found.", file=err)
        return 1
    example = ", the shipped example" if clinic.is_example else ""
    print(
        f"OK: {len(kb.entries)} entries in {len(topic_files(settings.knowledge_dir))} topic files, "
        f"answering {len(kb.intents())} intents, for {len(kb.procedures.procedures)} procedures.",
        file=out,
    )
    print(f"Clinic: {clinic.clinic_name} ({clinic.source}{example}).", file=out)
    print(
        "Intents checked against the domain." if intents else "Intents not checked: no domain found.",
        file=out,
    )
    if args.seeds is not None:
        print("No answer copies wording from the sources.", file=out)
    return 0


def main() -> None:
    """Entry point for ``python -m bot.knowledge.validate``."""
    # The summary says when the example clinic is in use; the loader's warning would repeat it.
    logging.basicConfig(level=logging.ERROR)
    sys.exit(run())


if __name__ == "__main__":
    main()
