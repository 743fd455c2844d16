"""Which channels run, and the Rasa credentials file that turns them on.

Rasa refuses to start when a credentials file names an unset ``${VARIABLE}``, so
``aftercare run`` writes ``var/credentials.yml`` with the token-protected REST channel (off
in production unless ``AFTERCARE_REST_ENABLED=true``), the website widget
and only those provider channels whose variables are all set. Secrets stay in the
environment: the file holds ``${AFTERCARE_...}`` references, which Rasa expands.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple, Type

import yaml

import bot.channels
from bot.channels.provider import ProviderInput, registered_connectors
from bot.channels.rest import REST_ENABLED, rest_enabled
from bot.channels.twilio_sms import PUBLIC_URL
from bot.settings import MIN_SECRET_LENGTH, Settings

CREDENTIALS_FILE = "credentials.yml"
WIDGET_CLASS = "bot.channels.widget.WidgetInput"
REST_CLASS = "bot.channels.rest.TokenRestInput"
WIDGET_SECRET = "AFTERCARE_WIDGET_SECRET"
HEADER = (
    "# Written by `aftercare run` from the environment: do not edit, it is rewritten on every start.\n"
    "# Secrets are ${VARIABLE} references that Rasa expands. See docs/channels.md.\n"
)


@dataclass(frozen=True)
class ProviderChannel:
    """A provider connector, the variables it needs, and its optional settings."""

    name: str
    class_path: str
    required: Mapping[str, str]
    optional: Mapping[str, Tuple[str, str]] = field(default_factory=dict)

    def missing(self, env: Mapping[str, str]) -> List[str]:
        """Return the required variables that are unset or empty."""
        return [variable for variable in self.required.values() if not env.get(variable, "").strip()]

    def credentials(self, env: Mapping[str, str]) -> Dict[str, str]:
        """The credentials block: secrets as ``${VAR}`` references, other settings as values."""
        block = {key: f"${{{variable}}}" for key, variable in self.required.items()}
        for key, (variable, default) in self.optional.items():
            value = env.get(variable, "").strip() or default
            if value:
                block[key] = value
        return block

    @classmethod
    def of(cls, connector: Type[ProviderInput]) -> ProviderChannel:
        """The registry entry a connector class declares."""
        return cls(connector.CHANNEL, connector.class_path(), connector.REQUIRED, connector.OPTIONAL)


def connectors() -> Tuple[Type[ProviderInput], ...]:
    """Every provider connector: each module of ``bot.channels`` is imported, and its classes register."""
    for module in pkgutil.iter_modules(bot.channels.__path__, prefix=f"{bot.channels.__name__}."):
        importlib.import_module(module.name)
    return registered_connectors()


def providers() -> Tuple[ProviderChannel, ...]:
    """The registry: one entry per connector class (adding a provider is adding its module)."""
    return tuple(ProviderChannel.of(connector) for connector in connectors())


@dataclass(frozen=True)
class ChannelStatus:
    """Whether a channel runs, and if not, what it is missing."""

    name: str
    enabled: bool
    missing: Tuple[str, ...] = ()
    webhook_path: Optional[str] = None


def _provider_env(settings: Settings) -> Dict[str, str]:
    """The variables provider connectors read: their own credentials and the public address."""
    public_url = settings.channels.public_url
    return {**settings.channels.provider_values, **({PUBLIC_URL: public_url} if public_url else {})}


def _widget_problem(settings: Settings) -> Optional[str]:
    secret = settings.channels.widget_secret
    if secret and len(secret) < MIN_SECRET_LENGTH:
        return f"{WIDGET_SECRET} (at least {MIN_SECRET_LENGTH} characters)"
    if not secret and not settings.is_development:
        return WIDGET_SECRET
    return None


def channel_statuses(settings: Settings) -> List[ChannelStatus]:
    """Describe every channel: REST and the widget, then each provider."""
    widget_problem = _widget_problem(settings)
    statuses = [
        ChannelStatus(
            "rest",
            rest_enabled(settings),
            () if rest_enabled(settings) else (f"{REST_ENABLED}=true",),
            webhook_path="/webhooks/rest/webhook",
        ),
        ChannelStatus(
            "widget",
            widget_problem is None,
            (widget_problem,) if widget_problem else (),
            webhook_path="/webhooks/widget/demo",
        ),
    ]
    for provider in providers():
        missing = tuple(provider.missing(_provider_env(settings)))
        path = f"/webhooks/{provider.name}/webhook"
        statuses.append(ChannelStatus(provider.name, not missing, missing, webhook_path=path))
    return statuses


def enabled_channels(settings: Settings) -> List[str]:
    """Return the names of the channels ``aftercare run`` turns on, e.g. ``["rest", "widget"]``."""
    return [status.name for status in channel_statuses(settings) if status.enabled]


def describe_channels(settings: Settings) -> List[str]:
    """One line per channel for the start-up banner: on with its URL, or off with what is missing."""
    base = settings.channels.public_url or f"http://localhost:{settings.rasa_port}"
    lines = []
    for status in channel_statuses(settings):
        if status.enabled:
            lines.append(f"{status.name}: on   {base}{status.webhook_path}")
        else:
            lines.append(f"{status.name}: off  (set {', '.join(status.missing)})")
    return lines


def credentials_for(settings: Settings) -> Dict[str, Any]:
    """The credentials mapping for the configured channels."""
    env = _provider_env(settings)
    credentials: Dict[str, Any] = {REST_CLASS: None} if rest_enabled(settings) else {}
    if _widget_problem(settings) is None:
        widget: Dict[str, Any] = {}
        if settings.channels.widget_secret:
            widget["secret"] = f"${{{WIDGET_SECRET}}}"
        if settings.channels.widget_origins:
            widget["allowed_origins"] = list(settings.channels.widget_origins)
        credentials[WIDGET_CLASS] = widget or None
    for provider in providers():
        if not provider.missing(env):
            credentials[provider.class_path] = provider.credentials(env)
    return credentials


def runtime_credentials(settings: Settings) -> Path:
    """Write ``var/credentials.yml`` for the configured channels and return its path."""
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    target = settings.var_dir / CREDENTIALS_FILE
    body = yaml.safe_dump(credentials_for(settings), sort_keys=False, default_flow_style=False)
    target.write_text(HEADER + body, encoding="utf-8")
    return target
