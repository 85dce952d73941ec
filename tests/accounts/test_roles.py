"""Roles: members, organisers and admins see what is theirs; admins grant and revoke organisers."""

from __future__ import annotations

from tests.conftest import submit


def test_anonymous_visitor_is_sent_to_log_in_from_organiser_pages(client):
    for path in ("/organiser/", "/organiser/users/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"] == f"/account/login?next={path.replace('/', '%2F')}"


def test_member_gets_403_on_organiser_and_admin_pages(client, make_user, login):
    login(make_user(role="member"))
    assert client.get("/organiser/").status_code == 403
    assert client.get("/organiser/users/").status_code == 403


def test_organiser_sees_the_dashboard_but_not_the_admin_pages(client, make_user, login):
    login(make_user(role="organiser"))
    assert client.get("/organiser/").status_code == 200
    assert client.get("/organiser/users/").status_code == 403


def test_admin_grants_and_revokes_the_organiser_role(client, make_user, login):
    admin = make_user(role="admin")
    person = make_user(role="member", name="Future Organiser")
    login(admin)
    page = client.get("/organiser/users/")
    assert "Future Organiser" in page.get_data(as_text=True)

    granted = submit(
        client, "/organiser/users/", {"role": "organiser"}, f"/organiser/users/{person.id}/role"
    )
    assert granted.status_code == 302
    assert person.role == "organiser"

    submit(client, "/organiser/users/", {"role": "member"}, f"/organiser/users/{person.id}/role")
    assert person.role == "member"


def test_roles_page_refuses_unknown_roles_and_admin_changes(client, make_user, login):
    admin = make_user(role="admin")
    other_admin = make_user(role="admin")
    person = make_user(role="member")
    login(admin)
    submit(client, "/organiser/users/", {"role": "admin"}, f"/organiser/users/{person.id}/role")
    assert person.role == "member"
    response = submit(
        client, "/organiser/users/", {"role": "member"}, f"/organiser/users/{other_admin.id}/role"
    )
    assert response.status_code == 302
    assert other_admin.role == "admin"
    missing = submit(
        client, "/organiser/users/", {"role": "organiser"}, "/organiser/users/9999/role"
    )
    assert missing.status_code == 302


def test_a_member_cannot_grant_roles(client, make_user, login):
    member = make_user(role="member")
    target = make_user(role="member")
    login(member)
    page = client.get("/")
    from tests.conftest import csrf_token_from

    token = csrf_token_from(page.get_data(as_text=True))
    response = client.post(
        f"/organiser/users/{target.id}/role", data={"csrf_token": token, "role": "organiser"}
    )
    assert response.status_code == 403
    assert target.role == "member"


def test_create_admin_command_promotes_or_creates(runner, make_user):
    from sqlalchemy import select

    from community.accounts.models import User
    from community.core.db import db

    existing = make_user(email="lead@example.com", role="member")
    result = runner.invoke(args=["create-admin", "lead@example.com"])
    assert result.exit_code == 0, result.output
    assert "is now an admin" in result.output
    db.session.expire_all()
    assert existing.role == "admin"

    result = runner.invoke(args=["create-admin", "fresh@example.com"])
    assert result.exit_code == 0, result.output
    assert "password:" in result.output
    created = db.session.scalar(select(User).where(User.email == "fresh@example.com"))
    assert created.role == "admin" and created.is_confirmed

    bad = runner.invoke(args=["create-admin", "not-an-email"])
    assert bad.exit_code != 0
    assert "valid e-mail" in bad.output
