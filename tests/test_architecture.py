"""The layering in docs/architecture.md, checked from the code's own imports (AST, nothing run)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Unit (a package or module of bot/, or actions) -> layer. Keep in step with docs/architecture.md.
LAYERS: Dict[str, int] = {
    "bot.settings": 0,
    "bot.secrets_store": 0,
    "bot.dates": 0,
    "bot.names": 0,
    "bot.log_privacy": 0,
    "bot.runtime_files": 0,
    "bot.auth_token": 0,
    "bot.supervisor": 0,
    "bot.training": 0,
    "bot.channel_names": 0,
    "bot.triage": 1,
    "bot.knowledge": 1,
    "bot.storage": 1,
    "bot.treatment_date": 1,
    "bot.conversation": 2,
    "bot.verdict": 2,
    "bot.safety": 2,
    "bot.alerts": 2,
    "bot.reconciler": 2,
    "bot.checkins": 2,
    "bot.media": 2,
    "bot.deadlines": 2,
    "bot.rasa_components": 3,
    "bot.tracker_store": 3,
    "bot.channels": 3,
    "bot.launch": 3,
    "bot.lock_store": 3,
    "actions": 4,
    "bot.dashboard": 4,
    "bot.evaluation": 4,
    "bot.cli": 5,
}
# Rasa (the framework) is imported only by its adapters and the tools above them.
# rasa_sdk: the action adapters, and the launcher that serves them with the shared-secret check.
RASA_SDK_ALLOWED = {"actions", "bot.launch"}
RASA_ALLOWED = {
    "bot.rasa_components",
    "bot.tracker_store",
    "bot.lock_store",
    "bot.channels",
    "bot.launch",
    "bot.evaluation",
}


def _unit(module: str) -> str:
    parts = module.split(".")
    return "actions" if parts[0] == "actions" else ".".join(parts[:2])


def _sources() -> Iterator[Tuple[str, Path]]:
    for folder in ("bot", "actions"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            yield module.removesuffix(".__init__"), path


def _imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def _violations() -> List[str]:
    problems: List[str] = []
    for module, path in _sources():
        source = _unit(module)
        if source == "bot.__init__" or source == "bot":
            continue
        if source not in LAYERS:
            problems.append(f"{module}: unit {source} has no layer in tests/test_architecture.py")
            continue
        for imported in _imports(path):
            top = imported.split(".")[0]
            if top == "rasa_sdk" and source not in RASA_SDK_ALLOWED:
                problems.append(f"{module} imports rasa_sdk (only actions/ and its launcher may)")
            if top == "rasa" and source not in RASA_ALLOWED and source != "bot.cli":
                problems.append(f"{module} imports rasa (only the Rasa adapters may)")
            if top not in ("bot", "actions") or imported == "bot":
                continue
            target = _unit(imported)
            if target == source or target not in LAYERS:
                continue
            if LAYERS[target] > LAYERS[source]:
                problems.append(
                    f"{module} (layer {LAYERS[source]}) imports {imported} (layer {LAYERS[target]})"
                )
    return problems


def _unit_graph() -> Dict[str, Set[str]]:
    graph: Dict[str, Set[str]] = {unit: set() for unit in LAYERS}
    for module, path in _sources():
        source = _unit(module)
        for imported in _imports(path):
            if imported.split(".")[0] in ("bot", "actions") and imported != "bot":
                target = _unit(imported)
                if target != source and source in graph and target in LAYERS:
                    graph[source].add(target)
    return graph


def test_every_import_goes_down_the_layers() -> None:
    assert _violations() == []


def test_no_two_units_import_each_other_in_a_loop() -> None:
    graph = _unit_graph()
    state: Dict[str, int] = {}
    loops: List[str] = []

    def visit(unit: str, trail: List[str]) -> None:
        state[unit] = 1
        for target in sorted(graph[unit]):
            if state.get(target) == 1:
                loops.append(" -> ".join(trail[trail.index(target) :] + [target]))
            elif target not in state:
                visit(target, trail + [target])
        state[unit] = 2

    for unit in sorted(graph):
        if unit not in state:
            visit(unit, [unit])
    assert loops == []


@pytest.mark.parametrize("forbidden", ["os.environ", "os.getenv"])
def test_only_settings_reads_the_environment(forbidden: str) -> None:
    readers = [
        module
        for module, path in _sources()
        if forbidden in path.read_text(encoding="utf-8") and module not in ALLOWED_ENV_READERS
    ]
    assert readers == []


# The settings module, and process launchers that hand the environment to child processes.
ALLOWED_ENV_READERS = {"bot.settings", "bot.supervisor", "bot.training"}
