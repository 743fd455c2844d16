"""``aftercare dashboard`` serves the staff dashboard (with the alert worker);
``aftercare alerts run-once`` delivers due alerts once (for cron or checks).
"""

from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType
from typing import Optional

from bot.alerts import AlertConfig, AlertWorker, run_once
from bot.cli.common import database
from bot.dashboard import create_app
from bot.dashboard.config import InsecureSecretKeyError
from bot.dashboard.server import DashboardServer


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``dashboard`` and ``alerts`` subcommands."""
    parser = subparsers.add_parser("dashboard", help="serve the staff review dashboard")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (default: DASHBOARD_PORT, else 5056)")
    parser.add_argument("--no-alerts", action="store_true", help="do not run the alert delivery worker here")
    parser.set_defaults(func=_serve)

    alerts = subparsers.add_parser("alerts", help="alert delivery")
    commands = alerts.add_subparsers(dest="alerts_command", metavar="ACTION", required=True)
    once = commands.add_parser("run-once", help="deliver every due alert once and exit")
    once.set_defaults(func=_run_once)


def _stop_on_sigterm(signum: int, frame: Optional[FrameType]) -> None:
    raise KeyboardInterrupt


def _serve(args: argparse.Namespace) -> int:
    settings = args.settings
    port = args.port if args.port is not None else settings.dashboard_port
    with database(settings) as factory:
        try:
            app = create_app(settings, session_factory=factory)
        except InsecureSecretKeyError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        alert_config = AlertConfig.from_settings(settings)
        worker = None if args.no_alerts else AlertWorker(factory, alert_config)
        server = DashboardServer(app, args.host, port)
        signal.signal(signal.SIGTERM, _stop_on_sigterm)
        if worker is not None:
            worker.start()
        print(f"dashboard on {server.url} (Ctrl-C stops it)", flush=True)
        if worker is not None and not (alert_config.email_enabled or alert_config.webhook_enabled):
            print("warning: no alert channel configured (see docs/dashboard.md)", file=sys.stderr, flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server.server_close()
            if worker is not None:
                worker.stop()
                worker.join(timeout=30)
    return 0


def _run_once(args: argparse.Namespace) -> int:
    settings = args.settings
    with database(settings) as factory:
        report = run_once(factory, AlertConfig.from_settings(settings))
    print(f"delivered {len(report.delivered)}, failed {len(report.failed)}, skipped {len(report.skipped)}")
    return 1 if report.failed else 0
