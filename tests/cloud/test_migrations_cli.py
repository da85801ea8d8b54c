"""Migrations up and down on both databases; the CLI's gateways, users and CSV import."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from pydantic import ValidationError
from sqlalchemy import inspect

import cloud.dispatch.models
import cloud.models
import cloud.notify.models  # noqa: F401  (every table, as the migrations to head make them)
from cloud.cli import main
from cloud.db import Base, make_engine
from cloud.migrate import downgrade, upgrade
from cloud.settings import Settings

pytestmark = pytest.mark.services


async def test_migrations_down_and_up_again(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        await downgrade(engine, "base")
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
        assert set(tables) <= {"alembic_version"}
        await upgrade(engine, "0001_core")
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
        assert {"alarms", "gateways", "households", "workers", "users"} <= set(tables)
    finally:
        await engine.dispose()


def test_cli_gateways_users_and_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAREWATCH_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/cli.db")

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out = capsys.readouterr()
        return code, out.out, out.err

    code, out, _ = run("gateways", "add", "gw-9")
    assert code == 0 and out.strip().startswith("cwg_gw-9.")
    code, _, err = run("gateways", "add", "gw-9")
    assert code == 2 and "already exists" in err
    assert run("gateways", "revoke", "gw-9")[0] == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("long enough pw\n"))
    assert run("users", "add", "ops", "--role", "admin", "--password-stdin")[0] == 0
    csv = tmp_path / "homes.csv"
    csv.write_text(
        "id,lat,lon,district,risk_level,address\n"
        "h-1,31.2,121.4,d1,high,1 Road\n"
        "h-2,95,121.4,d1,low,2 Road\n"
        "h-3,31.2,121.4,d1,extreme,3 Road\n"
        "h-1,31.2,121.4,d1,low,again\n"
    )
    code, out, err = run("import", "households", str(csv))
    assert code == 1
    assert "imported 1 households, rejected 3 rows" in out
    assert "row 3: lat:" in out and "row 4: risk_level:" in out and "row 5: id:" in out
    assert "4/4 rows" in err
    workers = tmp_path / "workers.csv"
    workers.write_text("name,phone,skills,capacity\nLi,13900000000,first_aid;elderly,2\n")
    assert run("import", "workers", str(workers))[0] == 0


@pytest.mark.parametrize(
    "sub",
    [
        ["serve"],
        ["migrate"],
        ["gateways", "add"],
        ["users", "add"],
        ["users", "disable"],
        ["users", "enable"],
        ["import"],
    ],
)
def test_cli_help(sub: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*sub, "--help"])
    assert exit_.value.code == 0
    assert "usage: carewatch-cloud" in capsys.readouterr().out


def test_cli_entry_point_installed() -> None:
    done = subprocess.run(["carewatch-cloud", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "gateways" in done.stdout


async def test_models_match_the_migrations(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata)
            )
    finally:
        await engine.dispose()
    assert diff == []


def test_production_refuses_missing_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAREWATCH_PRODUCTION", "true")
    with pytest.raises(ValidationError, match="CAREWATCH_SECRET_KEY"):
        Settings()
    monkeypatch.setenv("CAREWATCH_SECRET_KEY", "x" * 40)
    monkeypatch.setenv("CAREWATCH_TWILIO_ACCOUNT_SID", "AC123")
    with pytest.raises(ValidationError, match="CAREWATCH_TWILIO_AUTH_TOKEN"):
        Settings()
    monkeypatch.setenv("CAREWATCH_TWILIO_AUTH_TOKEN", "secret")
    assert Settings().production is True
