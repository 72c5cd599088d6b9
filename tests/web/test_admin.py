"""Administration: accounts created and disabled from the page, the audit log and its helper."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from fleet_monitor.models import metadata
from fleet_monitor.models.users import AuditEvent, UserAccount
from fleet_monitor.users import AccountError, create_user, record_audit, set_active
from fleet_monitor.web.audit import audit
from tests.web.conftest import T0, Fleet, add_user, csrf_token, login, signed_in, vehicles

NEW_PASSWORD = "une phrase de passe assez longue"
USER_TABLES = {"user_account", "user_session", "login_throttle", "audit_log"}


def create(admin: FlaskClient, **fields: str) -> object:
    data = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "operator": "", **fields}
    data["csrf_token"] = csrf_token(admin, "/admin/users")
    return admin.post("/admin/users", data=data)


def account_id(engine: Engine, email: str) -> int | None:
    found = account(engine, email)
    return found.id if found else None


def account(engine: Engine, email: str) -> UserAccount | None:
    with Session(engine) as s:
        return s.scalar(select(UserAccount).where(UserAccount.email == email))


def test_admin_creates_accounts(app: Flask, engine: Engine, admin: FlaskClient) -> None:
    trott = Fleet(engine, "trott", "Trott")
    page = admin.get("/admin/users").get_data(as_text=True)
    assert "Nouveau compte" in page and 'value="trott"' in page
    response = create(admin, email="Agent.Dupont@Annecy.example", role="officer")
    assert response.status_code == 302  # type: ignore[attr-defined]
    response = create(admin, email="staff@trott.example", role="operator", operator="trott")
    assert response.status_code == 302  # type: ignore[attr-defined]
    page = admin.get("/admin/users").get_data(as_text=True)
    assert "Compte staff@trott.example créé." in page
    assert 'data-account="agent.dupont@annecy.example"' in page
    staff = account(engine, "staff@trott.example")
    assert staff is not None and staff.operator_id == trott.operator_id
    assert staff.password_hash.startswith("$argon2id$")
    assert login(app.test_client(), "agent.dupont@annecy.example", NEW_PASSWORD).status_code == 302
    with Session(engine) as s:
        created = s.scalars(
            select(AuditEvent).where(AuditEvent.event == "account.created").order_by(AuditEvent.id)
        ).all()
    assert [(e.actor_email, e.ip, e.details["account"]) for e in created] == [
        ("admin@annecy.example", "127.0.0.1", "agent.dupont@annecy.example"),
        ("admin@annecy.example", "127.0.0.1", "staff@trott.example"),
    ]
    assert created[1].operator_id == trott.operator_id


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "x@annecy.example", "role": "operator"}, "doit être rattaché à un opérateur"),
        (
            {"email": "x@annecy.example", "role": "officer", "operator": "trott"},
            "Seuls les comptes d’opérateur",
        ),
        ({"email": "admin@annecy.example", "role": "officer"}, "existe déjà"),
        ({"email": "not-an-address", "role": "officer"}, "Ce n’est pas une adresse e-mail."),
        ({"email": "x@annecy.example", "role": "officer", "password": "short"}, "Au moins 12"),
        ({"email": "x@annecy.example", "role": "superuser"}, "est pas un choix valide."),
    ],
)
def test_account_creation_errors(
    engine: Engine, admin: FlaskClient, fields: dict[str, str], message: str
) -> None:
    Fleet(engine, "trott", "Trott")
    response = create(admin, **fields)
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert message in response.get_data(as_text=True)  # type: ignore[attr-defined]
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(UserAccount)) == 1


def test_disable_and_enable(app: Flask, engine: Engine, admin: FlaskClient) -> None:
    officer = signed_in(app, engine, "agent@annecy.example", "officer")
    target = account(engine, "agent@annecy.example")
    assert target is not None
    token = csrf_token(admin, "/admin/users")
    response = admin.post(f"/admin/users/{target.id}/disable", data={"csrf_token": token})
    assert response.status_code == 303
    assert "Compte agent@annecy.example désactivé." in admin.get("/admin/users").get_data(
        as_text=True
    )
    assert officer.get("/").status_code == 302  # its session ended at once
    assert login(app.test_client(), "agent@annecy.example").status_code == 200
    admin.post(f"/admin/users/{target.id}/enable", data={"csrf_token": token})
    assert login(app.test_client(), "agent@annecy.example").status_code == 302
    # an admin cannot lock themselves out
    me = account(engine, "admin@annecy.example")
    assert me is not None
    admin.post(f"/admin/users/{me.id}/disable", data={"csrf_token": token})
    assert "Vous ne pouvez pas désactiver votre propre compte." in admin.get(
        "/admin/users"
    ).get_data(as_text=True)
    assert admin.post("/admin/users/999999/disable", data={"csrf_token": token}).status_code == 404
    with Session(engine) as s:
        events = s.scalars(select(AuditEvent.event).order_by(AuditEvent.id)).all()
    assert [e for e in events if e.startswith("account.")] == [
        "account.disabled",
        "account.enabled",
    ]


def test_last_admin_cannot_be_disabled(engine: Engine) -> None:
    add_user(engine, "root@annecy.example", "admin")
    with Session(engine) as s, s.begin():
        root = s.scalar(select(UserAccount))
        assert root is not None
        with pytest.raises(AccountError, match="last active admin"):
            set_active(s, root, False)
        other = create_user(
            s, email="second@annecy.example", password=NEW_PASSWORD, role="admin", via="test"
        )
        assert set_active(s, root, False)
        assert not set_active(s, root, False)  # nothing to change
        assert other.active


def test_audit_page_lists_events_in_city_time(
    app: Flask, engine: Engine, admin: FlaskClient
) -> None:
    with Session(engine) as s, s.begin():
        record_audit(
            s,
            "notice.sent",
            actor_email="mobilite@annecy.example",
            actor_role="supervisor",
            ip="10.0.0.8",
            details={"notice": "N-2026-0042", "channel": "email"},
        )
        s.flush()
        s.query(AuditEvent).filter(AuditEvent.event == "notice.sent").update(
            {"at": datetime(2026, 7, 2, 8, 0, 5, tzinfo=UTC)}
        )
    page = admin.get("/admin/audit").get_data(as_text=True)
    row = re.search(r'<tr data-event="notice.sent">(.*?)</tr>', page, re.S)
    assert row, page
    cells = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row.group(1))).strip()
    # 08:00 UTC is 10:00 in Annecy in July; French date conventions
    assert cells.startswith("2 juil. 2026, 10:00:05 mobilite@annecy.example (Superviseur)")
    assert "notice.sent 10.0.0.8" in cells and "notice : N-2026-0042" in cells
    assert 'data-event="login.success"' in page  # the admin's own sign-in
    en = admin.get("/admin/audit?lang=en").get_data(as_text=True)
    assert "2 Jul 2026, 10:00:05" in en and "Signed in" in en
    only_notices = admin.get("/admin/audit?event=notice").get_data(as_text=True)
    assert "notice.sent" in only_notices and "login.success" not in only_notices


def test_audit_page_pages_backwards(engine: Engine, admin: FlaskClient) -> None:
    with Session(engine) as s, s.begin():
        for i in range(120):
            record_audit(s, "export.downloaded", details={"n": i})
    first = admin.get("/admin/audit?event=export").get_data(as_text=True)
    assert first.count('data-event="export.downloaded"') == 100
    older = re.search(r'href="(/admin/audit\?event=export&amp;before=\d+)"', first)
    assert older
    second = admin.get(older.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert second.count('data-event="export.downloaded"') == 20
    assert "Événements plus anciens" in first and "Événements plus anciens" not in second


def test_audit_helper_records_actor_address_and_details(app: Flask, engine: Engine) -> None:
    trott = Fleet(engine, "trott", "Trott")
    trott.poll(vehicles(1, "T"), T0)
    with app.test_request_context("/", environ_base={"REMOTE_ADDR": "10.7.7.7"}):
        from flask import g

        from fleet_monitor.web.sessions import CurrentUser

        chef = add_user(engine, "chef@annecy.example", "supervisor")
        g.user = CurrentUser(chef, "chef@annecy.example", "supervisor", None, None, "h")
        audit("case.status_changed", operator_id=trott.operator_id, case=17, to="confirmed")
        # inside the caller's transaction: rolled back with it
        with Session(engine) as s:
            s.begin()
            audit("export.downloaded", session=s, rows=12, when=T0)
            s.rollback()
    with Session(engine) as s:
        events = s.scalars(
            select(AuditEvent).where(
                AuditEvent.event.in_(["case.status_changed", "export.downloaded"])
            )
        ).all()
    assert len(events) == 1
    (event,) = events
    assert (event.actor_email, event.actor_role, event.ip) == (
        "chef@annecy.example",
        "supervisor",
        "10.7.7.7",
    )
    assert event.actor_id == account_id(engine, "chef@annecy.example")
    assert event.operator_id == trott.operator_id
    assert event.details == {"case": 17, "to": "confirmed"}


def test_migration_matches_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, metadata)
    ours = [d for d in diffs if any(t in str(d) for t in USER_TABLES)]
    assert ours == []
    with engine.connect() as conn:
        heads = set(conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars())
    from alembic.script import ScriptDirectory

    from fleet_monitor.database import MIGRATIONS_DIR, alembic_config

    url = engine.url.render_as_string(hide_password=False)
    script = ScriptDirectory.from_config(alembic_config(url))
    applied = {rev.revision for head in heads for rev in script.iterate_revisions(head, "base")}
    assert "0003" in applied, f"0003 not applied (heads {heads}, {MIGRATIONS_DIR})"
