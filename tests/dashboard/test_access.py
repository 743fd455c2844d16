"""Every page needs a login; admin pages need the admin role; every POST needs the CSRF token."""

from __future__ import annotations

import pytest
from werkzeug.routing import Rule

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
            if method == "GET":
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


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example"])
def test_the_login_redirect_stays_on_this_site(client, auth, target):
    token = auth.csrf()
    response = client.post(
        f"/login?next={target}",
        data={"username": "nurse", "password": "nurse-password-1", "csrf_token": token},
    )
    assert response.headers["Location"] == "/"


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
