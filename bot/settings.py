"""Runtime settings, read once from the environment.

This module is the only reader of ``os.environ`` in the project, so every
configurable value has one obvious home and one documented variable name. Each process
entry point (the ``aftercare`` command, the server launchers, the action-server providers,
and the components Rasa builds itself) calls :meth:`Settings.from_env` once and passes the
result down; each area reads its own typed section (``settings.alerts``, ``settings.dashboard``...).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Dict, Literal, Mapping, Optional, Tuple, Type, TypeVar, cast, get_args

from bot.channel_names import provider_variable_prefixes

PROJECT_ROOT = Path(__file__).resolve().parent.parent

Environment = Literal["development", "test", "production"]
ENVIRONMENTS: Tuple[str, ...] = get_args(Environment)

# The one secret policy: every configured key, token or signing secret is at least this long.
MIN_SECRET_LENGTH = 32

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})

# Secret name -> environment variable that may pin it (``bot.secrets_store`` generates the rest).
SECRET_VARIABLES: Mapping[str, str] = {
    "dashboard_session_key": "AFTERCARE_SECRET_KEY",
    "widget_session_secret": "AFTERCARE_WIDGET_SECRET",
    "action_server_secret": "AFTERCARE_ACTION_SECRET",
    "rasa_auth_token": "RASA_AUTH_TOKEN",
}


class SettingsError(ValueError):
    """An environment variable holds a value the assistant cannot run with."""


class _Reader:
    """Typed reads of one environment mapping, each refusing nonsense with the variable's name."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def text(self, name: str, default: str = "") -> str:
        return self.env.get(name, "").strip() or default

    def optional(self, name: str) -> Optional[str]:
        return self.text(name) or None

    def path(self, name: str, default: Path) -> Path:
        value = self.text(name)
        return Path(value) if value else default

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.text(name).lower()
        if not value:
            return default
        if value in TRUE_WORDS:
            return True
        if value in FALSE_WORDS:
            return False
        raise SettingsError(f"{name} must be true or false, not {value!r}")

    def number(self, name: str, default: int, *, minimum: int = 0) -> int:
        return int(self._convert(name, default, int, "a whole number", minimum))

    def seconds(self, name: str, default: float) -> float:
        return self._convert(name, default, float, "a number of seconds", minimum=None)

    def _convert(
        self, name: str, default: float, kind: Callable[[str], float], what: str, minimum: Optional[int]
    ) -> float:
        """Convert ``name`` with ``kind``; ``minimum`` None means it must be above zero."""
        value = self.text(name)
        if not value:
            return default
        try:
            number = kind(value)
        except ValueError:
            raise SettingsError(f"{name} must be {what}, not {value!r}") from None
        if minimum is None and number <= 0:
            raise SettingsError(f"{name} must be a positive number")
        if minimum is not None and number < minimum:
            raise SettingsError(f"{name} must be at least {minimum}, not {value}")
        return number

    def words(self, name: str) -> Tuple[str, ...]:
        return tuple(part.strip() for part in self.text(name).split(",") if part.strip())

    def environment(self) -> Environment:
        value = self.text("AFTERCARE_ENV", "development")
        if value not in ENVIRONMENTS:
            raise SettingsError(f"AFTERCARE_ENV must be one of {', '.join(ENVIRONMENTS)}, not {value!r}")
        return cast(Environment, value)


# -- section fields that name their variable ---------------------------------------------------
# A field declared with one of these carries its variable, default and bounds on one line;
# ``_Section.read`` reads every such field (the default is written once, not again in a reader).

_ReadField = Callable[[_Reader, str], Any]
S = TypeVar("S", bound="_Section")


def _from_env(variable: str, default: Any, read: _ReadField) -> Any:
    return field(default=default, metadata={"variable": variable, "read": read})


def env_text(variable: str, default: str = "") -> str:
    """A text field (blank: ``default``)."""
    return cast(str, _from_env(variable, default, lambda r, name: r.text(name, default)))


def env_optional(variable: str) -> Optional[str]:
    """A text field that may be unset (None)."""
    return cast(Optional[str], _from_env(variable, None, lambda r, name: r.optional(name)))


def env_flag(variable: str, default: bool = False) -> bool:
    """A true/false field."""
    return cast(bool, _from_env(variable, default, lambda r, name: r.flag(name, default)))


def env_number(variable: str, default: int, *, minimum: int = 0) -> int:
    """A whole-number field of at least ``minimum``."""
    return cast(int, _from_env(variable, default, lambda r, name: r.number(name, default, minimum=minimum)))


def env_port(variable: str) -> Optional[int]:
    """A port that may be unset (unset or 0: None)."""
    return cast(Optional[int], _from_env(variable, None, lambda r, name: r.number(name, 0) or None))


def env_seconds(variable: str, default: float) -> float:
    """A positive number of seconds."""
    return cast(float, _from_env(variable, default, lambda r, name: r.seconds(name, default)))


def env_words(variable: str, default: Tuple[str, ...] = ()) -> Tuple[str, ...]:
    """A comma-separated list (empty: ``default``)."""
    return cast(Tuple[str, ...], _from_env(variable, default, lambda r, name: r.words(name) or default))


class _Section:
    """A frozen settings section whose fields are declared with the ``env_*`` helpers above."""

    @classmethod
    def read(cls: Type[S], read: _Reader) -> S:
        values = {
            item.name: item.metadata["read"](read, item.metadata["variable"])
            for item in fields(cast(Any, cls))
            if "variable" in item.metadata
        }
        return cls(**values)


@dataclass(frozen=True)
class AlertSettings(_Section):
    """Where staff alerts go (e-mail, chat webhook) and how hard the worker tries."""

    dashboard_url: Optional[str] = env_optional("AFTERCARE_DASHBOARD_URL")
    smtp_host: Optional[str] = env_optional("AFTERCARE_SMTP_HOST")
    smtp_port: Optional[int] = env_port("AFTERCARE_SMTP_PORT")
    smtp_from: Optional[str] = env_optional("AFTERCARE_SMTP_FROM")
    recipients: Tuple[str, ...] = env_words("AFTERCARE_ALERT_EMAILS")
    smtp_user: Optional[str] = env_optional("AFTERCARE_SMTP_USER")
    smtp_password: Optional[str] = env_optional("AFTERCARE_SMTP_PASSWORD")
    smtp_starttls: bool = env_flag("AFTERCARE_SMTP_STARTTLS")
    smtp_ssl: bool = env_flag("AFTERCARE_SMTP_SSL")
    webhook_url: Optional[str] = env_optional("AFTERCARE_ALERT_WEBHOOK_URL")
    timeout_seconds: int = env_number("AFTERCARE_ALERT_TIMEOUT_SECONDS", 10, minimum=1)
    poll_seconds: int = env_number("AFTERCARE_ALERT_POLL_SECONDS", 15, minimum=1)
    max_attempts: int = env_number("AFTERCARE_ALERT_MAX_ATTEMPTS", 6, minimum=1)
    retry_seconds: int = env_number("AFTERCARE_ALERT_RETRY_SECONDS", 30)


@dataclass(frozen=True)
class DashboardSettings(_Section):
    """How the staff dashboard behaves: cookies, sessions, login throttling, time zone, proxies."""

    https: bool = env_flag("AFTERCARE_DASHBOARD_HTTPS")
    session_hours: int = env_number("AFTERCARE_DASHBOARD_SESSION_HOURS", 8, minimum=1)
    login_free_failures: int = env_number("AFTERCARE_LOGIN_FREE_FAILURES", 3)
    login_delay_seconds: int = env_number("AFTERCARE_LOGIN_DELAY_SECONDS", 2)
    login_max_delay_minutes: int = env_number("AFTERCARE_LOGIN_MAX_DELAY_MINUTES", 15)
    login_address_free_failures: int = env_number("AFTERCARE_LOGIN_ADDRESS_FREE_FAILURES", 20)
    login_alert_failures: int = env_number("AFTERCARE_LOGIN_ALERT_FAILURES", 5)
    timezone: str = env_text("AFTERCARE_TIMEZONE", "UTC")
    trusted_proxies: int = env_number("AFTERCARE_DASHBOARD_TRUSTED_PROXIES", 0)


@dataclass(frozen=True)
class ChannelSettings:
    """Which channels may run: the REST webhook, the website widget, and provider credentials.

    ``provider_values`` holds the set ``AFTERCARE_<CHANNEL>_*`` variables of every provider channel
    (``bot.channel_names``); each connector class declares which of them it requires.
    """

    rest_enabled: bool = False
    public_url: Optional[str] = None
    widget_secret: Optional[str] = None
    widget_origins: Tuple[str, ...] = ()
    action_timeout: float = 5.0
    provider_values: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, read: _Reader) -> ChannelSettings:
        providers = {
            name: value.strip()
            for name, value in read.env.items()
            if name.startswith(provider_variable_prefixes()) and value.strip()
        }
        return cls(
            rest_enabled=read.flag("AFTERCARE_REST_ENABLED"),
            public_url=(read.text("AFTERCARE_PUBLIC_URL").rstrip("/") or None),
            widget_secret=read.optional("AFTERCARE_WIDGET_SECRET"),
            widget_origins=read.words("AFTERCARE_WIDGET_ORIGINS"),
            action_timeout=read.seconds("AFTERCARE_ACTION_TIMEOUT", 5.0),
            provider_values=providers,
        )


@dataclass(frozen=True)
class PerformanceSettings:
    """How the Rasa process schedules turns (``bot.launch.turn_gate``) and how many workers serve them."""

    turns_in_flight: int = 4
    # Default: the machine's cores, at most 2, so it is read here rather than declared with env_*.
    # Sanic worker processes of `aftercare run`'s Rasa (each loads the model, ~1.2 GB).
    rasa_workers: int = 1

    @classmethod
    def read(cls, read: _Reader) -> PerformanceSettings:
        cores = min(os.cpu_count() or 1, 2)
        return cls(
            turns_in_flight=read.number("AFTERCARE_TURNS_IN_FLIGHT", 4, minimum=1),
            rasa_workers=read.number("AFTERCARE_RASA_WORKERS", cores, minimum=1),
        )


@dataclass(frozen=True)
class RetentionSettings(_Section):
    """How long patient data is kept before ``aftercare purge`` deletes it."""

    days: int = env_number("AFTERCARE_RETENTION_DAYS", 180, minimum=1)


@dataclass(frozen=True)
class MediaSettings:
    """Patient photos: where they are kept (``var/media/`` by default) and how large they may be."""

    directory: Optional[Path] = None
    max_bytes: int = 10 * 1024 * 1024
    fetch_timeout: float = 20.0

    @classmethod
    def read(cls, read: _Reader) -> MediaSettings:
        folder = read.text("AFTERCARE_MEDIA_DIR")
        return cls(
            directory=Path(folder) if folder else None,
            max_bytes=read.number("AFTERCARE_MEDIA_MAX_BYTES", 10 * 1024 * 1024, minimum=1024),
            fetch_timeout=read.seconds("AFTERCARE_MEDIA_FETCH_TIMEOUT", 20.0),
        )


@dataclass(frozen=True)
class DeadlineSettings(_Section):
    """The response-time worker (targets and chain are clinic settings) and who may reveal contacts."""

    enabled: bool = env_flag("AFTERCARE_DEADLINES_ENABLED", True)
    poll_seconds: float = env_seconds("AFTERCARE_DEADLINE_POLL_SECONDS", 15.0)
    claim_seconds: int = env_number("AFTERCARE_DEADLINE_CLAIM_SECONDS", 120, minimum=10)
    reveal_roles: Tuple[str, ...] = env_words("AFTERCARE_REVEAL_ROLES", ("admin",))


@dataclass(frozen=True)
class ClinicSettingsOverrides(_Section):
    """Single clinic fields a deployment pins without editing ``knowledge/clinic.yml``."""

    clinic_name: Optional[str] = env_optional("AFTERCARE_CLINIC_NAME")
    phone: Optional[str] = env_optional("AFTERCARE_CLINIC_PHONE")
    emergency_number: Optional[str] = env_optional("AFTERCARE_EMERGENCY_NUMBER")

    def as_fields(self) -> Dict[str, str]:
        """The pinned fields by their clinic.yml name."""
        values = {"clinic_name": self.clinic_name, "phone": self.phone}
        values["emergency_number"] = self.emergency_number
        return {name: value for name, value in values.items() if value}


@dataclass(frozen=True)
class CheckinSettings:
    """When proactive check-ins go out, how late one may still go, and the WhatsApp template.

    ``send_time`` is clinic local time (``AFTERCARE_TIMEZONE``) and must lie inside the
    opening window ``opening_start``-``opening_end``, which is when staff can answer a reply.
    """

    send_time: str = "10:00"
    grace_hours: int = 6
    opening_start: str = "09:00"
    opening_end: str = "18:00"
    timezone: str = "UTC"
    poll_seconds: int = 30
    # Hours after the last check-in without a reply before staff get a "no response" item;
    # 0 turns it off.
    no_response_hours: int = 0
    whatsapp_template: Optional[str] = None
    whatsapp_template_language: str = "en"
    # Template variables, in order; each names a part of the check-in text (see bot.checkins).
    whatsapp_template_parameters: Tuple[str, ...] = ("text",)
    # The From of check-in emails to widget patients who left an email address; without it none
    # are sent. The SMTP server is the alerts' one (AFTERCARE_SMTP_*).
    email_from: Optional[str] = None
    # Test environment only: a file holding the ISO time the worker takes as "now".
    clock_file: Optional[Path] = None

    @classmethod
    def read(cls, read: _Reader) -> CheckinSettings:
        window = read.text("AFTERCARE_CHECKIN_OPENING_HOURS", "09:00-18:00")
        SEND_TIME = "AFTERCARE_CHECKIN_SEND_TIME"  # noqa: N806 - the variable's name, used twice
        start, _, end = window.partition("-")
        settings = cls(
            send_time=_clock(read.text(SEND_TIME, "10:00"), SEND_TIME),
            grace_hours=read.number("AFTERCARE_CHECKIN_GRACE_HOURS", 6),
            opening_start=_clock(start.strip(), "AFTERCARE_CHECKIN_OPENING_HOURS"),
            opening_end=_clock(end.strip(), "AFTERCARE_CHECKIN_OPENING_HOURS"),
            timezone=read.text("AFTERCARE_TIMEZONE", "UTC"),
            poll_seconds=read.number("AFTERCARE_CHECKIN_POLL_SECONDS", 30, minimum=1),
            no_response_hours=read.number("AFTERCARE_CHECKIN_NO_RESPONSE_HOURS", 0),
            whatsapp_template=read.optional("AFTERCARE_CHECKIN_WHATSAPP_TEMPLATE"),
            whatsapp_template_language=read.text("AFTERCARE_CHECKIN_WHATSAPP_LANGUAGE", "en"),
            whatsapp_template_parameters=read.words("AFTERCARE_CHECKIN_WHATSAPP_PARAMETERS") or ("text",),
            email_from=read.optional("AFTERCARE_CHECKIN_EMAIL_FROM"),
            clock_file=Path(clock) if (clock := read.text("AFTERCARE_CHECKIN_CLOCK_FILE")) else None,
        )
        if not settings.opening_start <= settings.send_time < settings.opening_end:
            raise SettingsError(
                "AFTERCARE_CHECKIN_SEND_TIME must lie inside AFTERCARE_CHECKIN_OPENING_HOURS "
                f"({settings.opening_start}-{settings.opening_end}), not {settings.send_time}"
            )
        return settings


def _clock(value: str, name: str) -> str:
    """Return ``value`` as zero-padded HH:MM, or refuse it naming the variable."""
    hours, _, minutes = value.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise SettingsError(f"{name} must be a time as HH:MM, not {value!r}")
    if not (0 <= int(hours) <= 23 and 0 <= int(minutes) <= 59):
        raise SettingsError(f"{name} must be a time of day as HH:MM, not {value!r}")
    return f"{int(hours):02d}:{minutes}"


@dataclass(frozen=True)
class StaffReplySettings(_Section):
    """Staff replies and takeovers: the WhatsApp template for a closed reply window, the idle timeout.

    WhatsApp allows free text only within 24 hours of the patient's last message; later, only
    an approved template (its name and language as approved in Meta's Business Manager) may
    open the conversation again; the staff reply follows once the patient answers.
    """

    whatsapp_template: Optional[str] = env_optional("AFTERCARE_WHATSAPP_REPLY_TEMPLATE")
    whatsapp_template_language: str = env_text("AFTERCARE_WHATSAPP_REPLY_TEMPLATE_LANGUAGE", "en")
    takeover_idle_minutes: int = env_number("AFTERCARE_TAKEOVER_IDLE_MINUTES", 30, minimum=1)


@dataclass(frozen=True)
class Settings:
    """Everything the assistant needs to know about its surroundings."""

    project_root: Path = PROJECT_ROOT
    var_dir: Path = PROJECT_ROOT / "var"
    database_url: str = ""
    knowledge_dir: Path = PROJECT_ROOT / "knowledge"
    clinic_file: Path = PROJECT_ROOT / "knowledge" / "clinic.yml"
    rasa_auth_token: Optional[str] = None
    rasa_port: int = 5005
    action_port: int = 5055
    dashboard_port: int = 5056
    environment: Environment = "development"
    # Only what the environment pins; otherwise ``bot.secrets_store`` generates one under var/.
    secret_key: Optional[str] = None
    # Secret variable -> value, for those the environment pins (see SECRET_VARIABLES).
    pinned_secrets: Mapping[str, str] = field(default_factory=dict)
    alerts: AlertSettings = AlertSettings()
    dashboard: DashboardSettings = DashboardSettings()
    channels: ChannelSettings = ChannelSettings()
    retention: RetentionSettings = RetentionSettings()
    performance: PerformanceSettings = PerformanceSettings()
    clinic: ClinicSettingsOverrides = ClinicSettingsOverrides()
    checkins: CheckinSettings = CheckinSettings()
    media: MediaSettings = MediaSettings()
    deadlines: DeadlineSettings = DeadlineSettings()
    staff_replies: StaffReplySettings = StaffReplySettings()

    def __post_init__(self) -> None:
        if self.environment not in ENVIRONMENTS:
            raise SettingsError(
                f"environment must be one of {', '.join(ENVIRONMENTS)}, not {self.environment!r}"
            )

    @property
    def is_development(self) -> bool:
        return self.environment == "development"

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def media_dir(self) -> Path:
        """Where patient photos are stored: outside any web root, ``var/media/`` unless pinned."""
        return self.media.directory or self.var_dir / "media"

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> Settings:
        """Build settings from ``env`` (defaults to ``os.environ``); raise SettingsError on nonsense."""
        read = _Reader(dict(os.environ if env is None else env))
        var_dir = read.path("AFTERCARE_VAR_DIR", PROJECT_ROOT / "var")
        knowledge_dir = read.path("AFTERCARE_KNOWLEDGE_DIR", PROJECT_ROOT / "knowledge")
        pinned = {variable: value for variable in SECRET_VARIABLES.values() if (value := read.text(variable))}
        return cls(
            project_root=PROJECT_ROOT,
            var_dir=var_dir,
            database_url=read.text("AFTERCARE_DATABASE_URL") or f"sqlite:///{var_dir / 'aftercare.db'}",
            knowledge_dir=knowledge_dir,
            clinic_file=read.path("AFTERCARE_CLINIC_FILE", knowledge_dir / "clinic.yml"),
            rasa_auth_token=read.optional("RASA_AUTH_TOKEN"),
            rasa_port=read.number("RASA_PORT", 5005, minimum=1),
            action_port=read.number("ACTION_PORT", 5055, minimum=1),
            dashboard_port=read.number("DASHBOARD_PORT", 5056, minimum=1),
            environment=read.environment(),
            secret_key=read.optional("AFTERCARE_SECRET_KEY"),
            pinned_secrets=pinned,
            alerts=AlertSettings.read(read),
            dashboard=DashboardSettings.read(read),
            channels=ChannelSettings.read(read),
            retention=RetentionSettings.read(read),
            performance=PerformanceSettings.read(read),
            clinic=ClinicSettingsOverrides.read(read),
            checkins=CheckinSettings.read(read),
            media=MediaSettings.read(read),
            deadlines=DeadlineSettings.read(read),
            staff_replies=StaffReplySettings.read(read),
        )


@lru_cache(maxsize=1)
def process_settings() -> Settings:
    """Return this process's settings, read once: for the providers that no caller can hand them to.

    The ``aftercare`` command and the launchers build theirs and pass it down; the action-server
    providers and the knowledge caches, which Rasa and rasa_sdk reach without arguments, use this.
    """
    return Settings.from_env()
