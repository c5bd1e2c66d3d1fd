"""`madoguchi users …` through the real command-line entry point, on a fresh SQLite file."""
from __future__ import annotations

import io

import pytest

from config.settings import get_settings
from escalation.accounts import verify_password
from madoguchi.cli import main
from storage import Database, get_operator, list_audit, operator_tenant_ids


@pytest.fixture
def database_url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("MADOGUCHI_DATABASE_URL", url)
    monkeypatch.setenv("MADOGUCHI_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def run(monkeypatch, argv, stdin=""):
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(argv)


def test_create_reads_the_password_from_stdin_and_stores_only_a_hash(database_url, monkeypatch, capsys):
    argv = ["users", "create", "--username", "sato", "--role", "supervisor", "--tenant", "tokyo",
            "--tenant", "amagasaki", "--slack-user", "U0SATO", "--password-stdin"]
    assert run(monkeypatch, argv, "long enough secret\n") == 0
    assert "created supervisor sato" in capsys.readouterr().out
    db = Database(database_url)
    with db.read() as conn:
        row = get_operator(conn, "sato")
        assert row.role == "supervisor" and row.slack_user_id == "U0SATO"
        assert operator_tenant_ids(conn, row.id) == ["amagasaki", "tokyo"]
        assert verify_password("long enough secret", row.password_hash)
        assert "long enough secret" not in row.password_hash
        assert [r.action for r in list_audit(conn)] == ["operator.create"]
    db.dispose()


def test_short_passwords_and_taken_usernames_are_refused(database_url, monkeypatch):
    base = ["users", "create", "--username", "sato", "--tenant", "tokyo", "--password-stdin"]
    with pytest.raises(SystemExit, match="at least 8"):
        run(monkeypatch, base, "short\n")
    assert run(monkeypatch, base, "long enough secret\n") == 0
    with pytest.raises(SystemExit, match="taken"):
        run(monkeypatch, base, "another long secret\n")


def test_set_password_and_deactivate(database_url, monkeypatch, capsys):
    run(monkeypatch, ["users", "create", "--username", "sato", "--tenant", "tokyo", "--password-stdin"],
        "long enough secret\n")
    run(monkeypatch, ["users", "set-password", "--username", "sato", "--password-stdin"], "a brand new secret\n")
    run(monkeypatch, ["users", "deactivate", "--username", "sato"])
    run(monkeypatch, ["users", "list"])
    assert "sato\toperator\ttokyo\t- (deactivated)" in capsys.readouterr().out
    db = Database(database_url)
    with db.read() as conn:
        row = get_operator(conn, "sato")
        assert verify_password("a brand new secret", row.password_hash) and not row.active
    db.dispose()


def _open_sessions(database_url: str, count: int) -> tuple[Database, int]:
    from datetime import timedelta

    from storage import create_staff_session, utcnow

    db = Database(database_url)
    with db.transaction() as conn:
        operator_id = get_operator(conn, "sato").id
        for n in range(count):
            create_staff_session(conn, id_hash=f"{n:064d}", operator_id=operator_id,
                                 expires_at=utcnow() + timedelta(hours=8))
    return db, operator_id


@pytest.mark.parametrize("command", [["revoke-sessions"], ["set-password", "--password-stdin"], ["deactivate"]])
def test_revoke_sessions_set_password_and_deactivate_end_every_session(database_url, monkeypatch, capsys, command):
    """Issue 14 item 9: an administrator can sign an account out everywhere, and a password change does it too."""
    from storage import live_session_count

    run(monkeypatch, ["users", "create", "--username", "sato", "--tenant", "tokyo", "--password-stdin"],
        "long enough secret\n")
    db, operator_id = _open_sessions(database_url, 3)
    assert run(monkeypatch, ["users", *command[:1], "--username", "sato", *command[1:]], "a brand new secret\n") == 0
    assert "3 session(s) ended" in capsys.readouterr().out
    with db.read() as conn:
        assert live_session_count(conn, operator_id) == 0
        assert list_audit(conn)[0].detail == {"sessions_revoked": 3}
    db.dispose()
