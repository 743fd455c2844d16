"""Database access for views: each view opens its own short transaction."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, Optional

from flask import current_app, g, request
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts.config import AlertConfig
from bot.dashboard.config import DashboardConfig
from bot.settings import Settings
from bot.storage import audit

EXTENSION = "aftercare"


@dataclass(frozen=True)
class DashboardState:
    """What the app factory hands to every request."""

    settings: Settings
    config: DashboardConfig
    alerts: AlertConfig
    session_factory: sessionmaker
    session_key: Callable[[], str]


def state() -> DashboardState:
    """Return the current app's state."""
    found: DashboardState = current_app.extensions[EXTENSION]
    return found


@contextmanager
def transaction() -> Iterator[Session]:
    """Open a session in a transaction, committed on success and rolled back on error."""
    with state().session_factory.begin() as session:
        yield session


def client_ip() -> Optional[str]:
    """Return the requester's address (trusted proxies are unwrapped by ProxyFix)."""
    return request.remote_addr


def record(
    db: Session,
    action: str,
    target: Optional[str] = None,
    detail: Optional[str] = None,
    actor: Optional[str] = None,
) -> None:
    """Write an audit entry for the logged-in staff member (or ``actor``) and this request."""
    user = g.get("user")
    name = actor or (user.username if user is not None else "anonymous")
    audit.record(session=db, actor=name, action=action, target=target, detail=detail, ip=client_ip())
    g.audited = True


def record_refusal(db: Session, target: Optional[str], detail: Optional[str]) -> None:
    """Audit a refused request (bounded per address when nobody is logged in: ``audit.record_refusal``)."""
    user = g.get("user")
    name = user.username if user is not None else audit.ANONYMOUS
    audit.record_refusal(session=db, actor=name, target=target, detail=detail, ip=client_ip())
    g.audited = True
