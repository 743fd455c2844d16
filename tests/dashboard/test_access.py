"""Every page needs a login; admin pages need the admin role; every POST needs the CSRF token."""

from __future__ import annotations

import pytest
from werkzeug.routing import Rule

from bot.dashboard.security import NO_LOGIN_REDIRECT
from bot.storage import audit
from tests.dashboard.conftest import add_flag

PUBLIC = {"static", "auth.login"}
ADMIN_PAGES = ["/admin/staff", "/admin/audit", "/admin/alerts"]


def example_url(rule: Rule) -> str:
    return rule.build({name: 1 for name in rule.arguments}, append_unknown=False)[1]


def protected_rules(app):
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint not in PUBLIC]
    assert len(rules) >= 12  # the walk below covers every route the dashboard has
    return rules


def test_every_route_requires_login(app, client):
    for rule in protected_rules(app):
        url = example_url(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            # The JSON API (test_api.py) and the photos answer 401 instead of a login page.
            if method == "GET" and not url.startswith(("/api", *NO_LOGIN_REDIRECT)):
                assert response.status_code == 302, url
                assert response.headers["Location"].startswith("/login?next="), url
            else:
                assert response.status_code == 401, (method, url)


def test_the_login_redirect_returns_to_the_page_asked_for(client, auth):
    response = client.get("/admin/staff")
    token = auth.csrf(response.headers["Location"])
    response = client.post(
        response.headers["Location"],
        data={"username": "boss", "password": "boss-password-1", "csrf_token": token},
    )
    assert response.headers["Location"] == "/admin/staff"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "/ /evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        "evil.example",
        "/\u3000/evil.example",
    ],
)
def test_the_login_redirect_stays_on_this_site(client, auth, target):
    token = auth.csrf()
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"username": "nurse", "password": "nurse-password-1", "csrf_token": token},
    )
    assert response.headers["Location"] == "/"


def test_a_same_site_path_with_a_query_is_kept(client, auth):
    token = auth.csrf()
    response = client.post(
        "/login",
        query_string={"next": "/?level=urgent&page=2"},
        data={"username": "nurse", "password": "nurse-password-1", "csrf_token": token},
    )
    assert response.headers["Location"] == "/?level=urgent&page=2"


def audit_trail(session_factory):
    with session_factory.begin() as session:
        return [
            (entry.actor, entry.action, entry.target, entry.detail)
            for entry in reversed(audit.entries(session=session, limit=1000))
        ]


def test_every_authenticated_page_and_admin_read_is_audited(client, auth, session_factory):
    flag_id = add_flag(session_factory)
    auth.login("boss")
    for page in (
        "/?level=urgent",
        "/admin/audit?actor=nurse",
        "/admin/staff",
        f"/flags/{flag_id}",
        "/flags/999",
    ):
        client.get(page)
    views = [(row[0], row[1], row[2]) for row in audit_trail(session_factory) if row[0] == "boss"][1:]
    assert views == [
        ("boss", "page.view", "/"),
        ("boss", "page.view", "/admin/audit"),
        ("boss", "page.view", "/admin/staff"),
        ("boss", "conversation.view", f"flag:{flag_id}"),
        ("boss", "page.view", "/flags/999"),
    ]


def test_denied_requests_are_audited(client, auth, session_factory):
    flag_id = add_flag(session_factory)
    client.get("/admin/staff")
    client.post(f"/flags/{flag_id}/acknowledge")
    auth.login("nurse")
    client.get("/admin/audit")
    client.post(f"/flags/{flag_id}/acknowledge", data={"csrf_token": "forged"})
    denied = [row for row in audit_trail(session_factory) if row[1] == "access.denied"]
    assert denied == [
        ("anonymous", "access.denied", "/admin/staff", "GET login_required"),
        ("anonymous", "access.denied", f"/flags/{flag_id}/acknowledge", "POST login_required"),
        ("nurse", "access.denied", "/admin/audit", "GET forbidden"),
        ("nurse", "access.denied", f"/flags/{flag_id}/acknowledge", "POST csrf"),
    ]


@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_reviewers_cannot_open_admin_pages(client, auth, page):
    auth.login("nurse")
    assert client.get(page).status_code == 403


@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_admins_can_open_admin_pages(client, auth, page):
    auth.login("boss")
    assert client.get(page).status_code == 200


@pytest.mark.parametrize(
    "path, data",
    [
        (
            "/admin/staff",
            {"username": "x1", "role": "admin", "password": "p" * 12, "password_again": "p" * 12},
        ),
        ("/admin/staff/1/disable", {}),
        ("/admin/staff/1/enable", {}),
        ("/admin/alerts/1/retry", {}),
    ],
)
def test_reviewers_cannot_post_to_admin_actions(client, auth, path, data):
    auth.login("nurse")
    assert auth.post(path, data).status_code == 403


def test_posts_without_the_csrf_token_are_rejected(client, auth, session_factory):
    flag_id = add_flag(session_factory)
    auth.login("nurse")
    for data in ({}, {"csrf_token": "forged"}, {"csrf_token": "fälschung"}):
        response = client.post(f"/flags/{flag_id}/acknowledge", data=data)
        assert response.status_code == 400
    assert auth.post(f"/flags/{flag_id}/acknowledge").status_code == 302


def test_logging_in_needs_the_csrf_token_too(client, auth):
    auth.csrf()
    response = client.post("/login", data={"username": "nurse", "password": "nurse-password-1"})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_logging_out_ends_the_session(client, auth):
    auth.login("nurse")
    assert client.get("/").status_code == 200
    assert auth.logout().headers["Location"] == "/login"
    assert client.get("/").status_code == 302
