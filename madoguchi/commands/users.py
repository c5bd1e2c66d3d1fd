"""`madoguchi users …`: console accounts (the only way to create one; there is no sign-up page).

    madoguchi users create --username sato --role operator --tenant tokyo [--tenant amagasaki] [--slack-user U123]
        password from a prompt (typed twice), or one line on stdin with --password-stdin
    madoguchi users list [--tenant tokyo]
    madoguchi users set-password --username sato [--password-stdin]
    madoguchi users deactivate --username sato        # ends every session of that account at once
    madoguchi users revoke-sessions --username sato   # signs the account out everywhere (set-password does too)
"""
from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from config.settings import get_settings
from config.tenancy import load_tenants
from escalation.accounts import ROLES, hash_password
from storage import (
    Database, DuplicateKey, append_audit, create_operator, get_operator, list_operators, operator_tenant_ids,
    revoke_operator_sessions, update_operator,
)


def _database() -> Database:
    db = Database(get_settings().effective_database_url)
    db.migrate()
    return db


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("パスワード: ")
    if getpass.getpass("パスワード（確認）: ") != first:
        raise SystemExit("error: the two passwords differ")
    return first


def _password_hash(args: argparse.Namespace) -> str:
    try:
        return hash_password(read_password(args.password_stdin))
    except ValueError as error:
        raise SystemExit(f"error: {error}")


def _warn_unknown_tenants(tenants: list[str]) -> None:
    unknown = sorted(set(tenants) - set(load_tenants()))
    if unknown:
        print(f"warning: no tenant configuration for {', '.join(unknown)}", file=sys.stderr)


def cmd_create(args: argparse.Namespace) -> int:
    _warn_unknown_tenants(args.tenant)
    password_hash = _password_hash(args)
    try:
        with _database().transaction() as conn:
            operator_id = create_operator(conn, username=args.username, password_hash=password_hash,
                                          display_name=args.display_name or args.username, role=args.role,
                                          tenants=args.tenant, slack_user_id=args.slack_user)
            append_audit(conn, actor="cli", action="operator.create", target=args.username,
                         detail={"role": args.role, "tenants": sorted(args.tenant)})
    except DuplicateKey:
        raise SystemExit(f"error: username {args.username!r} or Slack user {args.slack_user!r} is taken")
    print(f"created {args.role} {args.username} (id {operator_id}) for {', '.join(sorted(args.tenant))}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    with _database().read() as conn:
        for row in list_operators(conn, tenant=args.tenant):
            state = "" if row.active else " (deactivated)"
            tenants = ",".join(operator_tenant_ids(conn, row.id))
            print(f"{row.username}\t{row.role}\t{tenants}\t{row.slack_user_id or '-'}{state}")
    return 0


def _update(username: str, action: str, *, revoke: bool = False, **fields: Any) -> int:
    """Change an account; with `revoke`, every session it has open ends in the same transaction."""
    with _database().transaction() as conn:
        row = get_operator(conn, username)
        if row is None:
            raise SystemExit(f"error: no operator {username!r}")
        if fields:
            update_operator(conn, row.id, **fields)
        ended = revoke_operator_sessions(conn, row.id, action.split(".")[-1]) if revoke else 0
        append_audit(conn, actor="cli", action=action, target=username,
                     detail={"sessions_revoked": ended} if revoke else None)
    print(f"{action}: {username}" + (f" ({ended} session(s) ended)" if revoke else ""))
    return 0


def cmd_set_password(args: argparse.Namespace) -> int:
    return _update(args.username, "operator.set_password", revoke=True, password_hash=_password_hash(args))


def cmd_deactivate(args: argparse.Namespace) -> int:
    return _update(args.username, "operator.deactivate", revoke=True, active=False)


def cmd_revoke_sessions(args: argparse.Namespace) -> int:
    """An administrator ends every session of an account at once (a lost laptop, a shared password)."""
    return _update(args.username, "operator.revoke_sessions", revoke=True)


def register(subparsers: Any) -> None:
    users = subparsers.add_parser("users", help="operator console accounts")
    sub = users.add_subparsers(dest="users_command", required=True)

    create = sub.add_parser("create", help="create an operator, supervisor or admin")
    create.add_argument("--username", required=True)
    create.add_argument("--role", choices=ROLES, default="operator")
    create.add_argument("--tenant", action="append", required=True, help="repeat for several tenants")
    create.add_argument("--slack-user", help="Slack user id (U…) for the 「対応する」 button")
    create.add_argument("--display-name")
    create.add_argument("--password-stdin", action="store_true", help="read the password from one stdin line")
    create.set_defaults(func=cmd_create)

    listing = sub.add_parser("list", help="list accounts")
    listing.add_argument("--tenant")
    listing.set_defaults(func=cmd_list)

    password = sub.add_parser("set-password", help="change a password (ends that account's sessions)")
    password.add_argument("--username", required=True)
    password.add_argument("--password-stdin", action="store_true")
    password.set_defaults(func=cmd_set_password)

    deactivate = sub.add_parser("deactivate", help="switch an account off")
    deactivate.add_argument("--username", required=True)
    deactivate.set_defaults(func=cmd_deactivate)

    revoke = sub.add_parser("revoke-sessions", help="sign an account out everywhere, now")
    revoke.add_argument("--username", required=True)
    revoke.set_defaults(func=cmd_revoke_sessions)
