"""The `switchyard` console command.

switchyard users add NAME          # password typed twice, or read from stdin when piped
switchyard users list
switchyard hash-password           # prints a bcrypt hash for BASIC_AUTH_PW_HASH
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from sqlalchemy import select

from api.auth import BCRYPT_MAX_BYTES, hash_password
from shared.db import create_engine, create_session_factory
from shared.models import User
from shared.repositories.users import UserRepository
from shared.settings import get_settings


def _read_password() -> str:
    if not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password (again): ") != password:
            raise SystemExit("error: the passwords do not match")
    if not password:
        raise SystemExit("error: empty password")
    if len(password.encode()) > BCRYPT_MAX_BYTES:
        raise SystemExit(f"error: passwords are limited to {BCRYPT_MAX_BYTES} bytes")
    return password


async def _add_user(name: str, password_hash: str, replace: bool) -> bool:
    engine = create_engine(get_settings().store, pool_size=1)
    try:
        async with create_session_factory(engine).begin() as session:
            users = UserRepository(session)
            if replace:
                await users.upsert(name, password_hash)
                return True
            return await users.create(name, password_hash) is not None
    finally:
        await engine.dispose()


async def _list_users() -> list[str]:
    engine = create_engine(get_settings().store, pool_size=1)
    try:
        async with create_session_factory(engine)() as session:
            return list((await session.scalars(select(User.name).order_by(User.name))).all())
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="switchyard", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    users = commands.add_parser("users", help="manage API users").add_subparsers(
        dest="action", required=True
    )
    add = users.add_parser("add", help="add a user (or --replace its password)")
    add.add_argument("name")
    add.add_argument("--replace", action="store_true", help="set the password of an existing user")
    users.add_parser("list", help="list user names")
    commands.add_parser("hash-password", help="print a bcrypt hash of a password")
    args = parser.parse_args(argv)

    if args.command == "hash-password":
        print(hash_password(_read_password()))
        return 0
    if args.action == "list":
        for name in asyncio.run(_list_users()):
            print(name)
        return 0
    if not 1 <= len(args.name) <= 150:
        raise SystemExit("error: user names are 1 to 150 characters")
    if not asyncio.run(_add_user(args.name, hash_password(_read_password()), args.replace)):
        raise SystemExit(f"error: user {args.name!r} exists; use --replace to set its password")
    print(f"user {args.name!r} saved")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
