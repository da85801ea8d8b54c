"""Gateway config: TOML and YAML, errors naming file, line and field, flags over the file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from edge.cli import build_parser, main, resolve_config
from edge.config import GatewayConfig
from edge.configfile import ConfigError, credential, load_config, load_home_for

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["gateway.example.toml", "gateway.example.yaml"])
def test_example_configs_load(name: str, tmp_path: Path, home_file: Path) -> None:
    shutil.copy(REPO / "config" / name, tmp_path / name)  # home.yaml is beside it already
    cfg = load_config(tmp_path / name)
    assert cfg.home == tmp_path / "home.yaml"
    assert load_home_for(cfg).home_id == "home-t1"


def test_toml_bad_field_names_file_line_and_field(tmp_path: Path) -> None:
    p = tmp_path / "gw.toml"
    p.write_text('home = "home.yaml"\n\n[cloud]\nurl = "https://x.org"\nbatch_size = 0\n')
    with pytest.raises(ConfigError) as exc:
        load_config(p)
    assert f"{p}:5: cloud.batch_size" in str(exc.value)


def test_toml_unknown_key_and_syntax_error(tmp_path: Path) -> None:
    p = tmp_path / "gw.toml"
    p.write_text('[broker]\nurl = "mqtt://h:1"\ncolour = "red"\n')
    with pytest.raises(ConfigError, match=r"gw.toml:3: broker.colour: Extra inputs"):
        load_config(p)
    p.write_text('[broker]\nurl = "mqtt://h:1\n')
    with pytest.raises(ConfigError, match=r"gw.toml:2: not valid TOML"):
        load_config(p)


def test_yaml_bad_field_names_line(tmp_path: Path) -> None:
    p = tmp_path / "gw.yaml"
    p.write_text("broker:\n  url: http://wrong\n")
    with pytest.raises(ConfigError, match=r"gw.yaml:2: broker.url"):
        load_config(p)


def test_flags_override_the_file_and_suffice_alone(tmp_path: Path, home_file: Path) -> None:
    p = tmp_path / "gw.toml"
    p.write_text('data_dir = "data"\n[broker]\nurl = "mqtt://10.0.0.1:1883"\n')
    args = build_parser().parse_args(
        ["run", "--config", str(p), "--broker", "mqtt://127.0.0.1:1999", "--home", str(home_file)]
    )
    cfg = resolve_config(args)
    assert cfg.broker.url == "mqtt://127.0.0.1:1999" and cfg.data_dir == tmp_path / "data"
    args = build_parser().parse_args(
        ["run", "--home", str(home_file), "--cloud", "http://127.0.0.1:1", "--data-dir", "d"]
    )
    cfg = resolve_config(args)
    assert cfg.home == home_file and cfg.cloud.url == "http://127.0.0.1:1"


def test_bad_input_exits_non_zero_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = tmp_path / "gw.toml"
    p.write_text("[queues]\nraw = 1\n")
    assert main(["run", "--config", str(p)]) == 2
    assert f"{p}:2: queues.raw" in capsys.readouterr().err
    assert main(["run", "--broker", "nope"]) == 2
    assert "--broker" in capsys.readouterr().err
    assert main(["run", "--config", str(tmp_path / "missing.toml")]) == 2
    assert "file not found" in capsys.readouterr().err


def test_credential_env_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "cred"
    f.write_text("cwg_gw-t1.fromfile\n")
    cfg = GatewayConfig.model_validate({"cloud": {"credential_file": f}})
    assert credential(cfg) == "cwg_gw-t1.fromfile"
    monkeypatch.setenv("CAREWATCH_GATEWAY_CREDENTIAL", "cwg_gw-t1.fromenv")
    assert credential(cfg) == "cwg_gw-t1.fromenv"


def test_every_subcommand_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for cmd in ["run", "check", "devices", "pair", "test-alarm", "outbox", "mode"]:
        with pytest.raises(SystemExit) as exc:
            main([cmd, "--help"])
        assert exc.value.code == 0
        assert "usage: carewatch-gateway" in capsys.readouterr().out


def test_docs_config_reference_is_generated_from_the_model() -> None:
    from edge.configdoc import reference_markdown

    assert reference_markdown() in (REPO / "docs" / "gateway.md").read_text()
