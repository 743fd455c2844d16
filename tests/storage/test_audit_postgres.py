"""On PostgreSQL the audit log stays append-only against TRUNCATE too, and the least-privilege
role the servers run as cannot change it, or switch the protection off, while the dashboard
still works in full under that role.
"""

from __future__ import annotations

import re
import uuid
from typing import Iterator, Tuple

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError

from bot.dashboard import create_app
from bot.settings import Settings
from bot.storage import make_engine, make_session_factory, migrate, staff
from bot.storage.append_only import least_privilege_grants
from bot.storage.models import Base
from tests.dashboard.conftest import SECRET, AuthActions, add_flag

pytestmark = pytest.mark.postgres

INSERT = "INSERT INTO aftercare_audit_log (at, actor, action) VALUES (CURRENT_TIMESTAMP, 'a', 'login')"
CHANGES = (
    "UPDATE aftercare_audit_log SET actor = 'b'",
    "DELETE FROM aftercare_audit_log",
    "TRUNCATE aftercare_audit_log",
)


@pytest.fixture(params=["migrations", "create_all"])
def owner(request: pytest.FixtureRequest, postgres_server) -> Iterator[Tuple[str, Engine]]:
    """A schema built the way the request names, as the owning (migration) role."""
    with postgres_server.fresh_database() as url:
        engine = make_engine(url)
        if request.param == "migrations":
            migrate.upgrade(engine)
        else:
            Base.metadata.create_all(engine)
        yield url, engine
        engine.dispose()


@pytest.fixture
def app_role(owner, postgres_server) -> Iterator[str]:
    """A login role granted exactly ``least_privilege_grants``; yields its database URL."""
    url, engine = owner
    schema = re.search(r"search_path%3D(\w+)", url).group(1)
    role = f"aftercare_app_{uuid.uuid4().hex[:8]}"
    with engine.begin() as connection:
        connection.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        for statement in least_privilege_grants(role, schema):
            connection.execute(text(statement))
    try:
        yield str(make_url(url).set(username=role))
    finally:
        with engine.begin() as connection:
            connection.execute(text(f'DROP OWNED BY "{role}"'))
            connection.execute(text(f'DROP ROLE "{role}"'))


@pytest.mark.parametrize("statement", CHANGES)
def test_even_the_owner_cannot_update_delete_or_truncate_the_audit_log(owner, statement):
    _, engine = owner
    with engine.begin() as connection:
        connection.execute(text(INSERT))
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text(statement))
    with engine.begin() as connection:
        assert connection.execute(text("SELECT count(*) FROM aftercare_audit_log")).scalar_one() == 1


@pytest.mark.parametrize(
    "statement",
    [
        *CHANGES,
        "ALTER TABLE aftercare_audit_log DISABLE TRIGGER ALL",
        "DROP TRIGGER aftercare_audit_log_no_truncate ON aftercare_audit_log",
        "DROP TABLE aftercare_audit_log",
    ],
)
def test_the_servers_role_may_add_entries_but_not_change_them_or_lift_the_protection(app_role, statement):
    engine = make_engine(app_role)
    try:
        with engine.begin() as connection:
            connection.execute(text(INSERT))
            assert connection.execute(text("SELECT count(*) FROM aftercare_audit_log")).scalar_one() == 1
        denied = pytest.raises(DBAPIError, match="permission denied|must be owner|append-only")
        with denied, engine.begin() as connection:
            connection.execute(text(statement))
        with engine.begin() as connection:
            assert connection.execute(text("SELECT count(*) FROM aftercare_audit_log")).scalar_one() == 1
    finally:
        engine.dispose()


def test_the_dashboard_works_in_full_under_the_least_privilege_role(app_role, tmp_path):
    engine = make_engine(app_role)
    factory = make_session_factory(engine)
    try:
        with factory.begin() as session:
            staff.create_staff(session=session, username="boss", password="boss-password-1", role="admin")
        flag_id = add_flag(factory)
        settings = Settings(database_url=app_role, environment="test", secret_key=SECRET, var_dir=tmp_path)
        client = create_app(settings, session_factory=factory).test_client()
        auth = AuthActions(client)
        assert auth.login("boss", "not the password").status_code == 401
        assert auth.login("boss", "boss-password-1").status_code == 302
        assert client.get(f"/flags/{flag_id}").status_code == 200
        assert auth.post(f"/flags/{flag_id}/acknowledge").status_code == 302
        assert client.get("/admin/audit").status_code == 200
        assert auth.logout().status_code == 302
        assert client.get("/").status_code == 302
    finally:
        engine.dispose()
