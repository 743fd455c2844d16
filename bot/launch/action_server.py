"""``python -m bot.launch.action_server --port N``: the rasa_sdk action server, callers checked.

Only Rasa may run actions: a forged tracker posted to ``/webhook`` would otherwise create
emergency flags and staff alerts. Every route except ``/health`` requires the header
``X-Aftercare-Action-Secret`` (``aftercare run`` puts it in the runtime endpoints file's
``action_endpoint.headers``). Errors answer without echoing the request, whose tracker holds
the patient's messages (rasa_sdk would send it back, and Rasa would log it).
"""

from __future__ import annotations

import argparse
import hmac
import logging
import sys
from typing import Any, List, Optional

from bot.launch import prepare_process
from bot.secrets_store import load_secret
from bot.settings import process_settings

SECRET_HEADER = "X-Aftercare-Action-Secret"
SECRET_NAME = "action_server_secret"
OPEN_PATHS = frozenset({"/health"})

logger = logging.getLogger(__name__)


def require_secret(app: Any, secret: str) -> None:
    """Refuse every request but ``/health`` that lacks the shared secret header."""
    from sanic import response
    from sanic.exceptions import SanicException

    expected = secret.encode("utf-8")

    @app.middleware("request")
    async def check_secret(request: Any) -> Optional[Any]:
        if request.path in OPEN_PATHS:
            return None
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8")
        if hmac.compare_digest(given, expected):
            return None
        logger.warning("refused %s %s: missing or wrong %s", request.method, request.path, SECRET_HEADER)
        return response.json({"error": "unauthorized"}, status=401)

    @app.exception(Exception)
    async def private_error(request: Any, exception: Exception) -> Any:
        if isinstance(exception, SanicException):  # 404, 405, bad JSON: say so, nothing more
            return response.json({"error": str(exception)}, status=exception.status_code)
        logger.error("action request %s failed", request.path, exc_info=exception)
        return response.json({"error": "the action failed; see the action server log"}, status=500)


def create_app(secret: str, actions_package: str = "actions") -> Any:
    """Build rasa_sdk's app for ``actions_package`` behind the shared secret."""
    from rasa_sdk.endpoint import create_app as create_sdk_app

    # No browser ever calls the action server: no CORS origins.
    app = create_sdk_app(actions_package, cors_origins="")
    require_secret(app, secret)
    return app


def main(argv: Optional[List[str]] = None) -> int:
    """Serve the actions on ``--host`` (127.0.0.1 unless a container asks for 0.0.0.0) at ``--port``."""
    prepare_process()
    parser = argparse.ArgumentParser(prog="python -m bot.launch.action_server")
    parser.add_argument("--port", type=int, default=None, help="port (default: ACTION_PORT, else 5055)")
    parser.add_argument("--actions", default="actions", help="package with the actions")
    parser.add_argument("--host", default="127.0.0.1", help="interface (0.0.0.0 in a container)")
    args = parser.parse_args(argv)
    settings = process_settings()
    secret = load_secret(SECRET_NAME, var_dir=settings.var_dir, env=settings.pinned_secrets)

    from rasa_sdk import utils

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s - %(message)s")
    utils.update_sanic_log_level()
    app = create_app(secret, args.actions)
    host = args.host
    port = args.port if args.port is not None else settings.action_port
    logger.info("Action endpoint is up and running on http://%s:%s", host, port)
    app.run(host, port, workers=utils.number_of_sanic_workers())
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
