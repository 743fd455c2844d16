"""Every package the project constrains is pinned within its constraint; Flask has the CVE-2026-27205 fix."""

from __future__ import annotations

import re
from typing import Dict

import tomli
from packaging.requirements import Requirement
from packaging.version import Version

from bot.settings import PROJECT_ROOT

_PIN = re.compile(r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==([^\s;#]+)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked() -> Dict[str, Version]:
    pins = {}
    for line in (PROJECT_ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        match = _PIN.match(line.strip())
        if match:
            pins[canonical(match.group(1))] = Version(match.group(2))
    return pins


def test_every_constrained_package_is_pinned_within_its_constraint():
    project = tomli.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    pins = locked()
    problems = []
    for text in declared:
        requirement = Requirement(text)
        version = pins.get(canonical(requirement.name))
        if version is None or (requirement.specifier and version not in requirement.specifier):
            problems.append(f"{text}: locked {version}")
    assert problems == []


def test_flask_is_at_least_3_1_3():
    assert locked()["flask"] >= Version("3.1.3")
