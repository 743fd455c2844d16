"""deploy/ checked offline: the Helm values, the worker manifests and the Dockerfiles agree with the code.

No cluster and no ``helm`` binary here, so this is a schema test: the keys Rasa's chart and
Kubernetes need are present, every image is one of ours, every environment variable is one
``bot/settings.py`` reads, every command runs a module or ``aftercare`` subcommand that exists,
and the images install exactly ``requirements.lock``.
"""

from __future__ import annotations

import importlib
import re
import shlex
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
import yaml
from rasa.core.lock_store import RedisLockStore
from rasa.core.tracker_store import SQLTrackerStore

from bot.cli import build_parser
from bot.launch.action_server import SECRET_HEADER

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
VALUES = DEPLOY / "helm" / "values.yaml"
MANIFESTS = sorted((DEPLOY / "k8s").glob("*.yaml"))
DOCKERFILES = {"assistant": DEPLOY / "assistant.Dockerfile", "actions": DEPLOY / "actions.Dockerfile"}
IMAGES = {f"docker.io/aftercare/{name}" for name in DOCKERFILES}
# Variables the chart's Redis subchart provides, and the ones our settings read.
CHART_VARIABLES = {"REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD"}
SECRET_KEYS_DOC = ROOT / "docs" / "deploy.md"


def values() -> Dict[str, Any]:
    return yaml.safe_load(VALUES.read_text())


def documents() -> List[Dict[str, Any]]:
    return [doc for path in MANIFESTS for doc in yaml.safe_load_all(path.read_text()) if doc]


def settings_variables() -> set:
    source = (ROOT / "bot" / "settings.py").read_text()
    return set(re.findall(r'"((?:AFTERCARE|RASA)_[A-Z0-9_]+)"', source))


def walk(node: Any) -> Iterator[Dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def containers() -> List[Dict[str, Any]]:
    """Every container spec: the chart's extra containers and our manifests' pod templates."""
    found = list(values()["extraContainers"])
    for doc in documents():
        found += [c for node in walk(doc) for c in node.get("containers", []) if isinstance(c, dict)]
    return found


def class_from(path: str) -> type:
    module, name = path.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


def test_the_chart_runs_several_replicas_on_our_stores():
    chart = values()
    assert chart["replicaCount"] >= 2
    extra = chart["applicationSettings"]["endpoints"]["additionalEndpoints"]
    assert issubclass(class_from(extra["tracker_store"]["type"]), SQLTrackerStore)
    assert issubclass(class_from(extra["lock_store"]["type"]), RedisLockStore)
    assert extra["lock_store"]["url"] == "${REDIS_HOST}"
    assert SECRET_HEADER in extra["action_endpoint"]["headers"]
    assert chart["applicationSettings"]["endpoints"]["trackerStore"]["enabled"] is False
    assert chart["postgresql"]["install"] and chart["redis"]["install"]
    assert chart["rasa-action-server"]["install"] and chart["rasa-action-server"]["replicaCount"] >= 2
    assert (
        "bot.channels.widget.WidgetInput"
        in chart["applicationSettings"]["credentials"]["additionalChannelCredentials"]
    )


def test_every_rasa_pod_drains_its_own_journal():
    chart = values()
    reconciler = next(c for c in chart["extraContainers"] if c["name"] == "reconciler")
    mounts = {m["name"]: m["mountPath"] for m in reconciler["volumeMounts"]}
    assert mounts == {m["name"]: m["mountPath"] for m in chart["volumeMounts"]}
    assert {v["name"] for v in chart["volumes"]} >= set(mounts)


def test_images_are_ours():
    chart = values()
    assert f"{chart['registry']}/{chart['image']['name']}" in IMAGES
    action = chart["rasa-action-server"]
    assert f"{action['registry']}/{action['image']['name']}" in IMAGES
    for container in containers():
        assert container["image"].rsplit(":", 1)[0] in IMAGES, container["name"]


def env_names() -> Iterator[str]:
    chart = values()
    lists = [chart["extraEnv"], chart["rasa-action-server"]["extraEnv"]]
    lists += [c.get("env", []) for c in containers()]
    for entries in lists:
        for entry in entries:
            yield entry["name"]


def test_every_variable_is_one_the_settings_read():
    known = settings_variables() | CHART_VARIABLES
    unknown = sorted(set(env_names()) - known)
    assert unknown == []


def test_secrets_come_from_the_documented_secret():
    documented = SECRET_KEYS_DOC.read_text()
    refs = [n["secretKeyRef"] for n in walk([values(), documents()]) if "secretKeyRef" in n]
    assert refs
    for ref in refs:
        assert ref["name"] == "aftercare-secrets"
        assert f"`{ref['key']}`" in documented, ref["key"]


def test_commands_name_modules_and_subcommands_that_exist():
    chart = values()
    commands = [chart["command"], chart["rasa-action-server"]["command"]]
    commands += [c["command"] for c in containers()]
    subcommands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for command in commands:
        if command[0] == "aftercare":
            assert command[1] in subcommands
        else:
            assert command[:2] == ["python", "-m"]
            importlib.import_module(command[2])


def test_manifests_have_what_kubernetes_requires():
    for doc in documents():
        assert doc["apiVersion"] and doc["kind"] and doc["metadata"]["name"].startswith("aftercare")
        if doc["kind"] in ("Deployment", "Job"):
            for container in doc["spec"]["template"]["spec"]["containers"]:
                assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
        if doc["kind"] == "Deployment":
            labels = doc["spec"]["template"]["metadata"]["labels"]
            assert doc["spec"]["selector"]["matchLabels"].items() <= labels.items()


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_images_install_the_lock_file_on_python_310(name):
    lines = [line.strip() for line in DOCKERFILES[name].read_text().splitlines()]
    assert lines[[i for i, line in enumerate(lines) if line and not line.startswith("#")][0]].startswith(
        "FROM python:3.10-"
    )
    assert "COPY requirements.lock ./" in lines
    assert "RUN pip install -r requirements.lock" in lines
    assert any(line.startswith("USER ") and "root" not in line for line in lines)
    cmd = next(line for line in " ".join(lines).split("CMD ")[1:])
    command = yaml.safe_load(cmd.replace("\\", ""))
    assert command[:2] == ["python", "-m"]
    importlib.import_module(command[2])


def test_the_ignore_files_keep_secrets_and_runtime_data_out():
    for dockerfile in DOCKERFILES.values():
        ignored = set(shlex.split(Path(f"{dockerfile}.dockerignore").read_text(), comments=True))
        assert {".env", "var", ".git"} <= ignored
