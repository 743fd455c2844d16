"""Login throttling per (user name, client address) and per address, with a growing delay.

A hard per-account lock lets anyone who knows a user name lock that nurse out. Here
failures only delay the key that produced them: ``pair:<user>@<address>`` and
``address:<address>``. The same person logging in from another address is never held
back. ``user:<name>`` counts failures from every address, never blocks, and raises a
security alert for admins when it crosses a threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.storage.security_models import LoginThrottle, SecurityAlert

KIND_LOGIN_FAILURES = "login_failures"
MAX_ADDRESSES_TEXT = 255


@dataclass(frozen=True)
class ThrottlePolicy:
    """How many failures are free, how the delay grows, when admins are alerted."""

    free_failures: int = 3
    base_delay: timedelta = timedelta(seconds=2)
    max_delay: timedelta = timedelta(minutes=15)
    address_free_failures: int = 20
    forget_after: timedelta = timedelta(hours=1)
    alert_failures: int = 5

    def delay_after(self, failures: int, free: int) -> timedelta:
        """Return the wait after ``failures`` counted failures (none while still free)."""
        if failures < free:
            return timedelta(0)
        return min(self.base_delay * (2 ** min(failures - free, 30)), self.max_delay)


def pair_key(username: str, address: Optional[str]) -> str:
    return f"pair:{username[:64]}@{(address or 'unknown')[:64]}"


def address_key(address: Optional[str]) -> str:
    return f"address:{(address or 'unknown')[:64]}"


def user_key(username: str) -> str:
    return f"user:{username[:64]}"


def _row(session: Session, key: str) -> Optional[LoginThrottle]:
    return session.execute(select(LoginThrottle).where(LoginThrottle.key == key)).scalars().first()


def blocked_until(
    *, session: Session, username: str, address: Optional[str], now: datetime
) -> Optional[datetime]:
    """Return when this user may try again from this address, or ``None`` if they may now."""
    found = []
    for key in (pair_key(username, address), address_key(address)):
        row = _row(session, key)
        if row is not None and row.blocked_until is not None and row.blocked_until > now:
            found.append(row.blocked_until)
    return max(found) if found else None


def _count(
    session: Session,
    key: str,
    now: datetime,
    policy: ThrottlePolicy,
    free: Optional[int],
    create: bool = True,
) -> int:
    row = _row(session, key)
    if row is None:
        if not create:
            return 0
        row = LoginThrottle(key=key, failures=0, last_failure_at=now)
        session.add(row)
    elif row.last_failure_at + policy.forget_after < now:
        row.failures = 0
        row.blocked_until = None
    row.failures += 1
    row.last_failure_at = now
    if free is not None:
        delay = policy.delay_after(row.failures, free)
        row.blocked_until = now + delay if delay else None
    session.flush()
    return int(row.failures)


def record_failure(
    *,
    session: Session,
    username: str,
    address: Optional[str],
    now: datetime,
    policy: ThrottlePolicy,
    throttled: bool = False,
) -> int:
    """Count one failed login; return the failures for this account from every address.

    An attempt refused while throttled counts for the account (admins should see it) but
    does not lengthen the delay: the wait grows with the passwords actually checked. It never
    adds a row either, so a throttled address cannot fill the table with invented user names;
    rows older than ``forget_after`` are removed as new failures come in.
    """
    if throttled:
        return _count(session, user_key(username), now, policy, None, create=False)
    session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.last_failure_at < now - policy.forget_after,
            (LoginThrottle.blocked_until.is_(None)) | (LoginThrottle.blocked_until < now),
        )
    )
    _count(session, pair_key(username, address), now, policy, policy.free_failures)
    _count(session, address_key(address), now, policy, policy.address_free_failures)
    return _count(session, user_key(username), now, policy, None)


def record_success(*, session: Session, username: str, address: Optional[str]) -> None:
    """Forget this pair's failures (the address and account counters keep theirs)."""
    row = _row(session, pair_key(username, address))
    if row is not None:
        row.failures = 0
        row.blocked_until = None


def raise_alert(
    *, session: Session, username: str, address: Optional[str], failures: int, now: datetime
) -> bool:
    """Open (or update) the admins' alert about failed logins for ``username``; True if new."""
    statement = select(SecurityAlert).where(
        SecurityAlert.kind == KIND_LOGIN_FAILURES,
        SecurityAlert.subject == username[:64],
        SecurityAlert.dismissed_at.is_(None),
    )
    alert = session.execute(statement).scalars().first()
    created = alert is None
    if alert is None:
        alert = SecurityAlert(
            kind=KIND_LOGIN_FAILURES,
            subject=username[:64],
            count=0,
            addresses="",
            created_at=now,
            notify_attempts=0,
        )
        session.add(alert)
    alert.count = max(int(alert.count or 0), failures)
    alert.updated_at = now
    addresses = [item for item in (alert.addresses or "").split(",") if item]
    if address and address not in addresses:
        addresses.append(address)
        alert.addresses = ",".join(addresses)[:MAX_ADDRESSES_TEXT]
    session.flush()
    return created


def open_alerts(*, session: Session) -> list[SecurityAlert]:
    """Return the security alerts no admin has dismissed yet, newest first."""
    statement = (
        select(SecurityAlert)
        .where(SecurityAlert.dismissed_at.is_(None))
        .order_by(SecurityAlert.updated_at.desc(), SecurityAlert.id.desc())
    )
    return list(session.execute(statement).scalars())


def dismiss_alert(*, session: Session, alert_id: int, by: str, now: datetime) -> Optional[SecurityAlert]:
    """Mark an alert as seen by admin ``by``."""
    alert = session.get(SecurityAlert, alert_id)
    if alert is None or alert.dismissed_at is not None:
        return None
    alert.dismissed_at = now
    alert.dismissed_by = by[:64]
    return alert
