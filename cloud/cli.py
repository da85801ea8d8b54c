"""``carewatch-cloud``: serve, check, migrate, gateways, users (add, disable, enable), imports."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import uvicorn
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud.app import create_app
from cloud.auth.deps import Role
from cloud.auth.models import User
from cloud.auth.service import UserExistsError, create_user, set_active
from cloud.db import make_engine, make_sessionmaker, utcnow
from cloud.dispatch.staffing import districts_without_target, retry_waiting
from cloud.gateways.service import GatewayError, add_gateway, revoke_gateway
from cloud.imports import count_rows, import_csv
from cloud.migrate import upgrade
from cloud.registry.models import Household
from cloud.server import run_workers, uvicorn_config
from cloud.settings import Settings

Maker = async_sessionmaker[AsyncSession]


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        err = exc.errors()[0]
        raise SystemExit(f"carewatch-cloud: settings: {err['msg']}") from exc


async def _with_db(settings: Settings, job: Callable[..., Awaitable[int]], *args: object) -> int:
    engine = make_engine(settings.database_url)
    try:
        await upgrade(engine)
        return await job(make_sessionmaker(engine), *args)
    finally:
        await engine.dispose()


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the service in the foreground."""
    settings = _settings()
    if args.workers > 1:
        run_workers(args.host, args.port, args.workers)
        return 0
    app = create_app(settings)
    uvicorn.Server(uvicorn_config(app, args.host, args.port)).run()
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    """Bring the database schema up to date."""
    settings = _settings()

    async def run() -> None:
        engine = make_engine(settings.database_url)
        try:
            await upgrade(engine, args.revision)
        finally:
            await engine.dispose()

    asyncio.run(run())
    print(f"database migrated to {args.revision}")
    return 0


async def _gateway_add(sm: Maker, gateway_id: str, household: str | None, name: str) -> int:
    async with sm() as session:
        if household and await session.get(Household, household) is None:
            print(f"error: --household: no such household {household!r}", file=sys.stderr)
            return 2
        try:
            _, credential = await add_gateway(session, gateway_id, household, name)
        except GatewayError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        await session.commit()
    print(credential)
    print("(store this credential on the gateway now; it is not shown again)", file=sys.stderr)
    return 0


async def _gateway_revoke(sm: Maker, gateway_id: str) -> int:
    async with sm() as session:
        try:
            await revoke_gateway(session, gateway_id)
        except GatewayError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        await session.commit()
    print(f"gateway {gateway_id} revoked")
    return 0


def cmd_gateways_add(args: argparse.Namespace) -> int:
    """Register a gateway and print its credential once."""
    return asyncio.run(
        _with_db(_settings(), _gateway_add, args.gateway_id, args.household, args.name)
    )


def cmd_gateways_revoke(args: argparse.Namespace) -> int:
    """Revoke a gateway's credential."""
    return asyncio.run(_with_db(_settings(), _gateway_revoke, args.gateway_id))


async def _user_add(
    sm: Maker, username: str, password: str, role: Role, worker_id: int | None
) -> int:
    async with sm() as session:
        try:
            await create_user(session, username, password, role, worker_id)
        except UserExistsError as exc:
            print(f"error: username: {exc}", file=sys.stderr)
            return 2
        await session.commit()
    print(f"user {username} ({role}) added")
    return 0


def cmd_users_add(args: argparse.Namespace) -> int:
    """Add an operator account; the password comes from stdin or a prompt."""
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("password: ")
    if len(password) < 8:
        print("error: password: at least 8 characters", file=sys.stderr)
        return 2
    return asyncio.run(
        _with_db(_settings(), _user_add, args.username, password, Role(args.role), args.worker_id)
    )


async def _user_set_active(sm: Maker, username: str, active: bool) -> int:
    async with sm() as session:
        user = await session.scalar(select(User).where(User.username == username))
        if user is None:
            print(f"error: username: no such user {username!r}", file=sys.stderr)
            return 2
        await set_active(session, user, active, actor="cli")
        await session.commit()
    print(f"user {username} {'enabled' if active else 'disabled (its tokens are revoked)'}")
    return 0


def cmd_users_disable(args: argparse.Namespace) -> int:
    """Disable an operator login; every token it holds stops working at once."""
    return asyncio.run(_with_db(_settings(), _user_set_active, args.username, False))


def cmd_users_enable(args: argparse.Namespace) -> int:
    """Enable a disabled operator login again (its holder then logs in anew)."""
    return asyncio.run(_with_db(_settings(), _user_set_active, args.username, True))


def cmd_import(args: argparse.Namespace) -> int:
    """Import households or workers from a CSV file, reporting rejected rows."""
    path = Path(args.csv)
    if not path.is_file():
        print(f"error: csv: no such file {path}", file=sys.stderr)
        return 2
    total = count_rows(path)

    def progress(done: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        print(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} rows",
            end="",
            file=sys.stderr,
            flush=True,
        )

    async def job(sm: Maker) -> int:
        report = await import_csv(sm, args.kind, path, progress)
        if args.kind == "workers" and report.imported:
            async with sm() as session, session.begin():  # new workers: retry waiting tasks
                await retry_waiting(session, utcnow())
        print(file=sys.stderr)
        print(f"imported {report.imported} {args.kind}, rejected {len(report.rejected)} rows")
        for r in report.rejected:
            print(f"  row {r.row}: {r.field}: {r.error}")
        return 1 if report.rejected else 0

    return asyncio.run(_with_db(_settings(), job))


async def _check(sm: Maker, production: bool) -> int:
    async with sm() as session:
        missing = await districts_without_target(session)
    for district, homes in missing:
        print(
            f"{'error' if production else 'warning'}: district {district or '(none)'!r}: "
            f"no escalation target (no active supervisor) for {homes} households; its tasks "
            "are offered on to every on-duty worker and shown as unstaffed"
        )
    if not missing:
        print("ok: every district with households has an escalation target")
    return 1 if missing and production else 0


def cmd_check(args: argparse.Namespace) -> int:
    """Check the deployment: every district with households has an escalation target.

    Exits 1 in production (CAREWATCH_PRODUCTION) when a district has none, else warns.
    """
    settings = _settings()
    return asyncio.run(_with_db(settings, _check, settings.production))


def settings_reference() -> str:
    """A Markdown table of every setting: variable, default, description."""
    rows = ["| variable | default | what |", "|---|---|---|"]
    for name, info in Settings.model_fields.items():
        default = info.get_default(call_default_factory=True)
        shown = "(unset)" if default is None else f"`{default}`"
        rows.append(f"| `CAREWATCH_{name.upper()}` | {shown} | {info.description or ''} |")
    return "\n".join(rows)


def cmd_settings(args: argparse.Namespace) -> int:
    """Print the settings reference (environment variables) as Markdown."""
    print(settings_reference())
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (every subcommand has --help)."""
    parser = argparse.ArgumentParser(
        prog="carewatch-cloud", description="The carewatch cloud service."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="run the HTTP service", description=cmd_serve.__doc__)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="service processes sharing the port (default 1)",
    )
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser(
        "settings", help="print the settings reference", description=cmd_settings.__doc__
    )
    p.set_defaults(func=cmd_settings)

    p = sub.add_parser(
        "check", help="check districts have escalation targets", description=cmd_check.__doc__
    )
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("migrate", help="apply database migrations", description=cmd_migrate.__doc__)
    p.add_argument("--revision", default="head", help="target revision (default head)")
    p.set_defaults(func=cmd_migrate)

    gw = sub.add_parser("gateways", help="register or revoke gateways").add_subparsers(
        dest="action", required=True
    )
    p = gw.add_parser(
        "add", help="register a gateway, print its credential", description=cmd_gateways_add.__doc__
    )
    p.add_argument("gateway_id")
    p.add_argument("--household", help="household (home_id) the gateway serves")
    p.add_argument("--name", default="", help="label for operators")
    p.set_defaults(func=cmd_gateways_add)
    p = gw.add_parser(
        "revoke", help="revoke a gateway's credential", description=cmd_gateways_revoke.__doc__
    )
    p.add_argument("gateway_id")
    p.set_defaults(func=cmd_gateways_revoke)

    users = sub.add_parser("users", help="operator accounts").add_subparsers(
        dest="action", required=True
    )
    p = users.add_parser("add", help="add an operator account", description=cmd_users_add.__doc__)
    p.add_argument("username")
    p.add_argument("--role", required=True, choices=[r.value for r in Role])
    p.add_argument("--worker-id", type=int, help="link to a worker (role worker)")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p.set_defaults(func=cmd_users_add)
    for name, func in (("disable", cmd_users_disable), ("enable", cmd_users_enable)):
        p = users.add_parser(name, help=f"{name} an operator login", description=func.__doc__)
        p.add_argument("username")
        p.set_defaults(func=func)

    p = sub.add_parser(
        "import", help="import households or workers from CSV", description=cmd_import.__doc__
    )
    p.add_argument("kind", choices=["households", "workers"])
    p.add_argument("csv", help="CSV file with a header row (column names as in the API)")
    p.set_defaults(func=cmd_import)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``carewatch-cloud``."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
