"""``aftercare run``: train if needed, then start the action server, Rasa and the dashboard together."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import List

import yaml

from bot.auth_token import resolve_token
from bot.channels.config import describe_channels, runtime_credentials
from bot.checkins.service import worker_command as checkin_worker_command
from bot.deadlines import worker_command
from bot.launch.action_server import SECRET_HEADER, SECRET_NAME
from bot.lock_store import lock_store_endpoint
from bot.log_privacy import install_log_redaction
from bot.reconciler import reconciler_command
from bot.runtime_files import private_database, private_var_dir, write_private
from bot.secrets_store import load_secret
from bot.settings import Settings
from bot.supervisor import AlreadyRunningError, Service, Supervisor
from bot.training import QUIET_ENV, ensure_model

PID_FILE = "servers.pid"
# Started first; the rest once these answer.
FIRST_SERVICES = ("actions", "rasa")

# Libraries under Rasa 3.6 print pages of deprecation warnings; keep the terminal readable.
CHILD_ENV = {**QUIET_ENV, "PYTHONUNBUFFERED": "1", "SANIC_HOST": "127.0.0.1", "PYTHONWARNINGS": "ignore"}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``run`` subcommand."""
    parser = subparsers.add_parser("run", help="start the whole assistant on localhost")
    parser.add_argument("--no-train", action="store_true", help="fail instead of training a missing model")
    parser.add_argument("--no-dashboard", action="store_true", help="do not start the staff dashboard")
    parser.add_argument(
        "--startup-timeout", type=float, default=300.0, help="seconds to wait for the servers"
    )
    parser.set_defaults(func=_run)


def runtime_endpoints(settings: Settings) -> Path:
    """Write ``var/endpoints.yml`` (0600): the action server's port and its shared secret.

    With several Rasa workers and no lock store configured (or the in-memory one), the
    workers share ticket locks through our database (``bot.lock_store.DatabaseLockStore``).
    """
    source = yaml.safe_load((settings.project_root / "endpoints.yml").read_text(encoding="utf-8"))
    secret = load_secret(SECRET_NAME, var_dir=settings.var_dir, env=settings.pinned_secrets)
    source["action_endpoint"] = {
        "url": f"http://127.0.0.1:{settings.action_port}/webhook",
        "headers": {SECRET_HEADER: secret},
    }
    lock_store = lock_store_endpoint(source.get("lock_store"), settings.performance.rasa_workers)
    if lock_store is not None:
        source["lock_store"] = lock_store
    target = private_var_dir(settings.var_dir) / "endpoints.yml"
    return write_private(target, yaml.safe_dump(source, sort_keys=False))


def build_services(settings: Settings, model: Path, token: str, with_dashboard: bool) -> List[Service]:
    """Describe the servers that make up the assistant (one entry per supervised process).

    The token goes to Rasa through its environment, never its command line (``ps`` shows that).
    """
    python = sys.executable
    services = [
        Service(
            name="actions",
            command=[python, "-m", "bot.launch.action_server", "--port", str(settings.action_port)],
            health_url=f"http://127.0.0.1:{settings.action_port}/health",
            env=dict(CHILD_ENV),
        ),
        Service(
            name="rasa",
            command=[
                python,
                "-m",
                "bot.launch.rasa_server",
                "--interface",
                "127.0.0.1",
                "--port",
                str(settings.rasa_port),
                "--model",
                str(model),
                "--endpoints",
                str(runtime_endpoints(settings)),
                "--credentials",
                str(runtime_credentials(settings)),
            ],
            health_url=f"http://127.0.0.1:{settings.rasa_port}/",
            # Sanic forks this many workers on one port (Rasa needs a shared lock store for >1).
            env={
                **CHILD_ENV,
                "RASA_AUTH_TOKEN": token,
                "SANIC_WORKERS": str(settings.performance.rasa_workers),
            },
        ),
    ]
    # Creates any flag an escalation still owes (action server or database was down then).
    services.append(
        Service(name="reconciler", command=reconciler_command(settings), health_url="", env=dict(CHILD_ENV))
    )
    # Sends each check-in once when it falls due (bot.checkins.worker).
    services.append(
        Service(name="checkins", command=checkin_worker_command(settings), health_url="", env=dict(CHILD_ENV))
    )
    # Escalates flags nobody acknowledged within their response target (bot.deadlines).
    if settings.deadlines.enabled:
        services.append(
            Service(name="deadlines", command=worker_command(settings), health_url="", env=dict(CHILD_ENV))
        )
    if with_dashboard:
        services.append(
            Service(
                name="dashboard",
                command=[
                    sys.executable,
                    "-m",
                    "bot.cli",
                    "dashboard",
                    "--port",
                    str(settings.dashboard_port),
                ],
                health_url=f"http://127.0.0.1:{settings.dashboard_port}/login",
                env=dict(CHILD_ENV),
            )
        )
    return services


def _upgrade_database(settings: Settings) -> None:
    subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], cwd=settings.project_root, check=True)


def prepare_runtime(settings: Settings) -> None:
    """Private files from here on: umask 077, ``var/`` 0700, the SQLite database 0600."""
    os.umask(0o077)
    private_var_dir(settings.var_dir)
    private_database(settings.database_url)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _run(args: argparse.Namespace) -> int:
    # Until the supervisor takes over, SIGTERM and SIGHUP (terminal closed) stop like Ctrl-C.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    install_log_redaction()
    settings = args.settings
    prepare_runtime(settings)
    token = resolve_token(settings.rasa_auth_token, settings.project_root / ".env")
    if token.origin == "generated":
        print(f"[aftercare] generated RASA_AUTH_TOKEN={token.value} (saved in .env)")
    if args.no_train:
        from bot.training import model_path

        model = model_path(settings.project_root)
        if not model.exists():
            print(f"[aftercare] no trained model at {model}; run `make train`")
            return 1
    else:
        model = ensure_model(settings.project_root).path
    _upgrade_database(settings)
    services = build_services(settings, model, token.value, with_dashboard=not args.no_dashboard)
    # Rasa loads its model first, without the others' start-up competing for the CPU; the
    # workers and the dashboard follow once it answers (nothing reaches them before).
    first = [s for s in services if s.name in FIRST_SERVICES]
    supervisor = Supervisor(first, cwd=str(settings.project_root), pid_file=settings.var_dir / PID_FILE)
    try:
        supervisor.start()
    except AlreadyRunningError as error:
        print(f"[aftercare] {error}")
        return 1
    try:
        began = time.monotonic()
        up = supervisor.wait_until_up(args.startup_timeout)
        for service in services:
            if up and service not in first:
                supervisor.add(service)
        left = max(1.0, args.startup_timeout - (time.monotonic() - began))
        if not up or not supervisor.wait_until_up(left):
            print("[aftercare] the servers did not come up; stopping.")
            supervisor.stop()
            return 1
        _print_urls(settings, services, token.value)
        return supervisor.run_until_stopped()
    except KeyboardInterrupt:
        return 0
    finally:
        supervisor.stop()
        print("[aftercare] stopped.", flush=True)


def _print_urls(settings: Settings, services: List[Service], token: str) -> None:
    rasa = f"http://localhost:{settings.rasa_port}"
    lines = [
        "",
        "Aftercare Assistant is up.",
        f"  Chat (REST):     curl -s -XPOST '{rasa}/webhooks/rest/webhook?token=<RASA_AUTH_TOKEN>'"
        + """ -d '{"sender":"me","message":"hello"}'""",
        f"  Rasa HTTP API:   {rasa}/status?token=<RASA_AUTH_TOKEN> (token in .env)",
        f"  Action server:   http://localhost:{settings.action_port}/health",
    ]
    if any(s.name == "dashboard" for s in services):
        lines.append(f"  Staff dashboard: http://localhost:{settings.dashboard_port}/")
    lines.append(f"  Database:        {settings.database_url}")
    lines.append("  Channels:")
    lines += [f"    {line}" for line in describe_channels(settings)]
    lines.append("Press Ctrl-C to stop everything.")
    print("\n".join(f"[aftercare] {line}" for line in lines), flush=True)
