"""Per-turn costs Rasa 3.6 pays for nothing, removed in our Rasa process (issue 15).

Each patch keeps Rasa's behaviour and only drops repeated work; ``bench/README.md`` has the
profile that found them:

- **Action responses validated with a validator built once.** ``RemoteAction`` calls
  ``jsonschema.validate`` on every action-server response, which checks the schema itself
  and builds a new validator each time (about 15 ms a call, a fifth of our turn); the
  response is still validated against the same schema, with the same error.
- **One pooled HTTP session per event loop for outgoing calls** (the action server):
  ``EndpointConfig.request`` opened and closed an ``aiohttp`` session, so a TCP connection,
  per call. Idle connections are dropped after 2 s, before Sanic's 5 s keep-alive closes
  them from the other side, so a reused connection is not one the server is closing.
- **Models loaded without a training step**: Rasa builds a TensorFlow model's weights by
  tracing and running one training step on an example, then overwrites them with the stored
  ones (three quarters of our model's load time); here the stored weights are restored as the
  one prediction Rasa makes at load creates them (same outputs; every created weight must
  come from the file).
- **Garbage collection after the model is loaded**: the loaded model (hundreds of MB of
  Python objects) moves to the permanent generation (``gc.freeze``) and young collections
  run less often, so a full collection no longer scans the model and stalls every
  conversation for most of a second.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import ssl
from typing import Any, Dict, Optional, Tuple

logger = logging.getLogger(__name__)

# Young-generation threshold after start-up (CPython's default is 700 allocations).
GC_THRESHOLDS = (50_000, 20, 20)
IDLE_CONNECTION_S = 2.0


def validate_action_responses_once() -> None:
    """Make ``RemoteAction`` validate responses with one prebuilt validator."""
    from jsonschema import ValidationError
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)  # what jsonschema.validate did on every call
    validator = validator_class(schema)

    def validate(self: Any, result: Dict[str, Any]) -> bool:
        error: Optional[ValidationError] = best_match(validator.iter_errors(result))
        if error is None:
            return True
        error.message += (
            ". Failed to validate Action server response from API, make sure your response "
            "from the Action endpoint is valid. For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error

    RemoteAction._validate_action_result = validate


def reuse_http_connections() -> None:
    """Make ``EndpointConfig.request`` share one keep-alive session per event loop and identity."""
    import aiohttp
    from aiohttp import ContentTypeError
    from rasa.utils import endpoints
    from rasa.utils.endpoints import ClientResponseError, EndpointConfig, concat_url

    sessions: Dict[Tuple[int, Any], aiohttp.ClientSession] = {}

    def shared_session(config: EndpointConfig) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        auth = tuple(sorted(config.basic_auth.items())) if config.basic_auth else None
        key = (id(loop), (tuple(sorted(config.headers.items())), auth))
        session = sessions.get(key)
        if session is None or session.closed:
            basic = (
                aiohttp.BasicAuth(config.basic_auth["username"], config.basic_auth["password"])
                if auth
                else None
            )
            session = aiohttp.ClientSession(
                headers=config.headers,
                auth=basic,
                timeout=aiohttp.ClientTimeout(total=endpoints.DEFAULT_REQUEST_TIMEOUT),
                connector=aiohttp.TCPConnector(limit=100, keepalive_timeout=IDLE_CONNECTION_S),
            )
            sessions[key] = session
        return session

    async def request(
        self: EndpointConfig,
        method: str = "post",
        subpath: Optional[str] = None,
        content_type: Optional[str] = "application/json",
        compress: bool = False,
        **kwargs: Any,
    ) -> Optional[Any]:
        headers = {"Content-Type": content_type} if content_type else {}
        headers.update(kwargs.pop("headers", None) or {})
        headers.update(self.headers or {})
        sslcontext = ssl.create_default_context(cafile=self.cafile) if self.cafile else None
        session = shared_session(self)
        async with session.request(
            method,
            concat_url(self.url, subpath),
            headers=headers,
            params=self.combine_parameters(kwargs),
            compress=compress,
            ssl=sslcontext,
            **kwargs,
        ) as response:
            if response.status >= 400:
                raise ClientResponseError(response.status, response.reason, await response.content.read())
            try:
                return await response.json()
            except ContentTypeError:
                return None

    EndpointConfig.request = request


def build_models_by_inference() -> None:
    """Load TensorFlow models (DIET) without tracing and running a training step first.

    Rasa's ``RasaModel.load`` trains the empty model on one example to create its weights,
    then overwrites them with the stored ones: most of our model's load time is tracing that
    training graph. Here the stored weights are attached first (TensorFlow restores each
    variable as it is created) and the one prediction Rasa makes anyway creates them. Only
    when there is a prediction example and no fine-tuning; otherwise Rasa's own load.
    """
    import tensorflow as tf
    from rasa.utils.tensorflow.constants import LEARNING_RATE, RUN_EAGERLY
    from rasa.utils.tensorflow.models import RasaModel

    rasa_load = RasaModel.load.__func__

    def load(
        cls: Any,
        model_file_name: str,
        model_data_example: Any,
        predict_data_example: Any = None,
        finetune_mode: bool = False,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        if finetune_mode or predict_data_example is None:
            return rasa_load(
                cls, model_file_name, model_data_example, predict_data_example, finetune_mode, *args, **kwargs
            )
        try:
            model = cls(*args, **kwargs)
            config = kwargs.get("config", {})
            model.compile(
                optimizer=tf.keras.optimizers.Adam(config.get(LEARNING_RATE, 0.001)),
                run_eagerly=config.get(RUN_EAGERLY),
            )
            status = model.load_weights(model_file_name)
            model.run_inference(predict_data_example)
            status.assert_existing_objects_matched()
            status.expect_partial()  # optimizer slots and training-only layers stay in the file
            return model
        except Exception as error:  # noqa: BLE001 - a model we cannot build this way loads as Rasa does
            logger.warning("Loading %s as Rasa does (%s).", cls.__name__, type(error).__name__)
            return rasa_load(
                cls, model_file_name, model_data_example, predict_data_example, finetune_mode, *args, **kwargs
            )

    RasaModel.load = classmethod(load)


def settle_garbage_collector() -> None:
    """Collect once, freeze what survives (the loaded model), and collect young objects less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    logger.info("Garbage collector settled: %d objects frozen.", gc.get_freeze_count())


def settle_garbage_collector_after_start() -> None:
    """Have every Rasa app settle the collector once its model is loaded."""
    from rasa import server

    create_app = server.create_app

    def create_app_settling(*args: Any, **kwargs: Any) -> Any:
        app = create_app(*args, **kwargs)

        @app.listener("after_server_start")
        async def settle(*_: Any) -> None:
            # Runs after Rasa's ``load_agent_on_start`` (a before_server_start listener).
            settle_garbage_collector()

        return app

    server.create_app = create_app_settling


def install() -> None:
    """Apply every patch (call before Rasa builds its app)."""
    validate_action_responses_once()
    reuse_http_connections()
    build_models_by_inference()
    settle_garbage_collector_after_start()
