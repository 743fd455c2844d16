"""Staff accounts: hashing, roles, lockout after repeated failures."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.storage import staff
from bot.storage.staff import LockoutPolicy, StaffError

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)
PASSWORD = "correct horse battery"


@pytest.fixture
def nurse(session):
    return staff.create_staff(session=session, username="Nurse.Joy", password=PASSWORD, role="reviewer")


def login(session, password, *, username="nurse.joy", now=T0, policy=LockoutPolicy()):
    return staff.authenticate(session=session, username=username, password=password, now=now, policy=policy)


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


def test_five_failures_lock_the_account_for_fifteen_minutes(session, nurse):
    for attempt in range(4):
        assert login(session, "wrong password!", now=T0 + timedelta(seconds=attempt)).reason == "bad_password"
    assert nurse.locked_until is None
    login(session, "wrong password!", now=T0 + timedelta(seconds=4))
    assert nurse.locked_until == T0 + timedelta(seconds=4, minutes=15)
    assert login(session, PASSWORD, now=T0 + timedelta(minutes=10)).reason == "locked"
    assert login(session, PASSWORD, now=T0 + timedelta(minutes=20)).ok
    assert (nurse.failed_logins, nurse.locked_until) == (0, None)


def test_the_lockout_policy_is_configurable(session, nurse):
    policy = LockoutPolicy(max_failures=2, duration=timedelta(minutes=1))
    login(session, "wrong password!", policy=policy)
    login(session, "wrong password!", policy=policy)
    assert login(session, PASSWORD, policy=policy, now=T0 + timedelta(seconds=30)).reason == "locked"
    assert login(session, PASSWORD, policy=policy, now=T0 + timedelta(minutes=2)).ok


def test_disabled_accounts_cannot_log_in_and_enabling_clears_the_lockout(session, nurse):
    staff.create_staff(session=session, username="admin", password=PASSWORD, role="admin")
    staff.set_active(session=session, user=nurse, active=False)
    assert login(session, PASSWORD).reason == "disabled"
    nurse.locked_until = T0 + timedelta(hours=1)
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
