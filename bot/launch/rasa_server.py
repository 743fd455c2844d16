"""``python -m bot.launch.rasa_server ARGS``: ``rasa run --enable-api ARGS`` with the token from
the environment and a short action-server timeout.

The action timeout matters for safety: escalation replies are domain responses predicted by
our SafetyPolicy, but the REST and widget channels answer only when the whole turn is over,
so a hung action server would otherwise hold an escalation for Rasa's default 300 s.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import sys
from pathlib import Path
from typing import Any, List, Optional

from bot.launch import prepare_process, sessions, speedups
from bot.launch.turn_gate import gate_agent_messages
from bot.settings import ChannelSettings, Settings, process_settings
from bot.supervisor import die_with_parent

DEFAULT_ACTION_TIMEOUT = ChannelSettings.action_timeout


def action_timeout(settings: Settings) -> float:
    """Seconds Rasa waits for one action-server call (``AFTERCARE_ACTION_TIMEOUT``, default 5)."""
    return settings.channels.action_timeout


def apply_action_timeout(seconds: float) -> None:
    """Make Rasa's RemoteAction give up on the action server after ``seconds``.

    Rasa 3.6 has no setting for it: ``RemoteAction.run`` passes the module constant
    ``DEFAULT_REQUEST_TIMEOUT`` (300 s) to every call, so we replace that constant in the
    module that reads it. Other HTTP clients (model server, NLG) keep Rasa's default.
    """
    import rasa.core.actions.action as remote_action

    remote_action.DEFAULT_REQUEST_TIMEOUT = seconds


def hide_version_banner(token: str) -> None:
    """Stop Rasa's server announcing its version to anyone who asks.

    Stock Rasa answers ``GET /`` with "Hello from Rasa: <version>" and ``GET /version`` without
    the API token; both tell an attacker which advisories apply. ``/`` (the health check) now
    answers a plain "ok", and ``/version`` needs the token like the rest of the HTTP API.
    """
    import hmac

    from rasa import server
    from sanic import response

    create_app = server.create_app

    def create_app_without_banner(*args: Any, **kwargs: Any) -> Any:
        app = create_app(*args, **kwargs)

        @app.middleware("request")
        async def no_banner(request: Any) -> Any:
            if request.path == "/":
                return response.text("ok")
            if request.path == "/version":
                given = request.args.get("token") or ""
                header = request.headers.get("Authorization", "")
                if header.startswith("Bearer "):
                    given = header[len("Bearer ") :]
                if not hmac.compare_digest(given.encode(), token.encode()):
                    return response.json({"status": "failure", "reason": "NotAuthenticated"}, status=401)
            return None

        return app

    server.create_app = create_app_without_banner


def workers_die_with_rasa() -> None:
    """Make every process this one forks (Sanic's workers, ``SANIC_WORKERS``) die with it.

    The supervisor's ``PR_SET_PDEATHSIG`` covers the Rasa process it starts, not the workers
    that process forks: without this, a ``kill -9`` of Rasa would leave its workers holding
    the port, and the restarted Rasa could not listen.
    """
    forking: List[int] = []

    def before() -> None:
        forking[:] = [os.getpid()]

    def in_child() -> None:
        if forking:
            die_with_parent(forking[0])

    os.register_at_fork(before=before, after_in_child=in_child)


def load_models_one_at_a_time(lock_file: Path) -> None:
    """Make Sanic's workers load the model one after the other, not all at once.

    On two cores, two workers loading together both finish late; one at a time, the first
    serves while the second loads, so the assistant answers as soon as one model is in.
    The lock is a ``flock`` on ``lock_file`` (released by the kernel if a worker dies).
    """
    from rasa.core import run

    load_agent_on_start = run.load_agent_on_start

    async def load_in_turn(*args: Any, **kwargs: Any) -> Any:
        lock_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(str(lock_file), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
            return await load_agent_on_start(*args, **kwargs)
        finally:
            os.close(fd)  # closing releases the lock

    run.load_agent_on_start = load_in_turn


def rasa_arguments(token: str, arguments: List[str]) -> List[str]:
    """Return the ``rasa`` command line, as seen by Rasa's own parser only (not by ``ps``)."""
    return ["rasa", "run", "--enable-api", "--auth-token", token, *arguments]


def main(argv: Optional[List[str]] = None) -> int:
    """Serve Rasa in this process; arguments are passed on to ``rasa run``."""
    prepare_process()
    settings = process_settings()
    if not settings.rasa_auth_token:
        print("error: RASA_AUTH_TOKEN is not set", file=sys.stderr)
        return 2
    apply_action_timeout(action_timeout(settings))
    workers_die_with_rasa()
    load_models_one_at_a_time(settings.var_dir / "rasa-model-load.lock")
    speedups.install()
    sessions.install()
    gate_agent_messages(settings.performance.turns_in_flight)
    hide_version_banner(settings.rasa_auth_token)
    from rasa.__main__ import main as rasa_main

    sys.argv = rasa_arguments(settings.rasa_auth_token, list(sys.argv[1:] if argv is None else argv))
    rasa_main()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
