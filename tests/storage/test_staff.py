"""Staff accounts: hashing, roles, throttling per (user, address) instead of a lockout."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.storage import staff
from bot.storage.login_throttle import ThrottlePolicy, open_alerts
from bot.storage.staff import StaffError

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)
PASSWORD = "correct horse battery"


@pytest.fixture
def nurse(session):
    return staff.create_staff(session=session, username="Nurse.Joy", password=PASSWORD, role="reviewer")


def login(session, password, *, username="nurse.joy", now=T0, policy=ThrottlePolicy(), address="10.0.0.1"):
    return staff.authenticate(
        session=session, username=username, password=password, now=now, policy=policy, address=address
    )


def test_passwords_are_stored_as_argon2_hashes(nurse):
    assert nurse.username == "nurse.joy"
    assert nurse.password_hash.startswith("$argon2id$")
    assert PASSWORD not in nurse.password_hash


def test_a_correct_password_logs_in_and_usernames_ignore_case(session, nurse):
    result = login(session, PASSWORD, username=" NURSE.JOY ")
    assert result.ok and result.user is nurse and nurse.last_login_at == T0


@pytest.mark.parametrize(
    "username, password, role",
    [
        ("x", PASSWORD, "reviewer"),
        ("has space", PASSWORD, "reviewer"),
        ("doctor", "short", "reviewer"),
        ("doctor", PASSWORD, "superuser"),
        ("nurse.joy", PASSWORD, "admin"),
    ],
)
def test_bad_accounts_are_refused(session, nurse, username, password, role):
    with pytest.raises(StaffError):
        staff.create_staff(session=session, username=username, password=password, role=role)


@pytest.mark.parametrize(
    "username, password, reason",
    [("nurse.joy", "wrong password!", "bad_password"), ("nobody", PASSWORD, "unknown_user")],
)
def test_wrong_credentials_fail(session, nurse, username, password, reason):
    result = login(session, password, username=username)
    assert not result.ok and result.reason == reason


def test_failures_delay_only_the_same_user_at_the_same_address_and_the_delay_grows(session, nurse):
    policy = ThrottlePolicy(free_failures=3, base_delay=timedelta(seconds=10), alert_failures=100)
    for attempt in range(3):
        assert login(
            session, "wrong password!", now=T0 + timedelta(seconds=attempt), policy=policy
        ).reason == ("bad_password")
    # The third failure (at T0+2s) holds this pair back for 10 s, the fourth for 20 s.
    assert login(session, PASSWORD, now=T0 + timedelta(seconds=5), policy=policy).reason == "throttled"
    assert login(session, PASSWORD, now=T0 + timedelta(seconds=5), policy=policy, address="10.0.0.2").ok
    assert login(session, "wrong password!", now=T0 + timedelta(seconds=12), policy=policy).reason == (
        "bad_password"
    )
    assert login(session, PASSWORD, now=T0 + timedelta(seconds=30), policy=policy).reason == "throttled"
    assert login(session, PASSWORD, now=T0 + timedelta(seconds=33), policy=policy).ok
    # Success forgets the pair's failures: one more mistake is free again.
    assert login(session, "wrong password!", now=T0 + timedelta(seconds=34), policy=policy).reason == (
        "bad_password"
    )
    assert login(session, PASSWORD, now=T0 + timedelta(seconds=34), policy=policy).ok


def test_throttled_attempts_check_no_password_and_unknown_users_are_throttled_too(session, nurse):
    policy = ThrottlePolicy(free_failures=1, base_delay=timedelta(minutes=5), alert_failures=100)
    assert login(session, "wrong", username="nobody", policy=policy).reason == "unknown_user"
    assert login(session, "wrong", username="nobody", policy=policy).reason == "throttled"
    assert login(session, "wrong password!", policy=policy).reason == "bad_password"
    assert login(session, PASSWORD, policy=policy).reason == "throttled"


def test_one_address_trying_many_names_is_throttled(session, nurse):
    policy = ThrottlePolicy(address_free_failures=3, base_delay=timedelta(minutes=5), alert_failures=100)
    for name in ("a1", "a2", "a3"):
        login(session, "wrong", username=name, policy=policy)
    assert login(session, PASSWORD, policy=policy).reason == "throttled"
    assert login(session, PASSWORD, policy=policy, address="10.0.0.9").ok


def test_repeated_failures_for_one_account_open_one_alert_for_admins(session, nurse):
    policy = ThrottlePolicy(free_failures=100, alert_failures=3)
    results = [
        login(session, "wrong password!", address=f"10.0.0.{n}", policy=policy, now=T0 + timedelta(seconds=n))
        for n in range(5)
    ]
    assert [result.alert_raised for result in results] == [False, False, True, False, False]
    (alert,) = open_alerts(session=session)
    assert (alert.subject, alert.count) == ("nurse.joy", 5)
    assert alert.addresses == "10.0.0.2,10.0.0.3,10.0.0.4"


def test_disabled_accounts_cannot_log_in(session, nurse):
    staff.create_staff(session=session, username="admin", password=PASSWORD, role="admin")
    staff.set_active(session=session, user=nurse, active=False)
    assert login(session, PASSWORD).reason == "disabled"
    staff.set_active(session=session, user=nurse, active=True)
    assert login(session, PASSWORD).ok


def test_the_last_admin_cannot_be_disabled(session):
    admin = staff.create_staff(session=session, username="admin", password=PASSWORD, role="admin")
    with pytest.raises(StaffError):
        staff.set_active(session=session, user=admin, active=False)
    staff.create_staff(session=session, username="admin2", password=PASSWORD, role="admin")
    staff.set_active(session=session, user=admin, active=False)
    assert admin.active is False


def test_a_new_password_replaces_the_old_one(session, nurse):
    staff.set_password(session=session, user=nurse, password="another long password")
    assert login(session, PASSWORD).reason == "bad_password"
    assert login(session, "another long password").ok
    with pytest.raises(StaffError):
        staff.set_password(session=session, user=nurse, password="short")


def test_staff_are_listed_by_username(session, nurse):
    staff.create_staff(session=session, username="alice", password=PASSWORD, role="admin")
    assert [user.username for user in staff.list_staff(session=session)] == ["alice", "nurse.joy"]


def test_a_throttled_address_cannot_fill_the_table_with_invented_names(session, nurse):
    from sqlalchemy import func, select

    from bot.storage.security_models import LoginThrottle

    policy = ThrottlePolicy(address_free_failures=2, base_delay=timedelta(minutes=5), alert_failures=100)
    for name in ("a1", "a2"):
        login(session, "wrong", username=name, policy=policy)
    rows = session.execute(select(func.count(LoginThrottle.id))).scalar_one()
    for number in range(20):
        assert login(session, "wrong", username=f"invented{number}", policy=policy).reason == "throttled"
    assert session.execute(select(func.count(LoginThrottle.id))).scalar_one() == rows
    # An hour later the stale rows go as soon as a new failure is counted.
    login(session, "wrong", username="later", policy=policy, now=T0 + timedelta(hours=2), address="10.0.0.7")
    keys = set(session.execute(select(LoginThrottle.key)).scalars())
    assert keys == {"pair:later@10.0.0.7", "address:10.0.0.7", "user:later"}
