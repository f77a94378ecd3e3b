"""TOML parsing (unknown keys name the key and the line), the CLI, the demo and the registry."""

import json
import math

import pytest

from stochflow.core.errors import InputError
from stochflow.core.testing import check_plugin
from stochflow.xva import StructuralFirm, load_config, parse_config
from stochflow.xva.cli import main
from stochflow.xva.config import example_path

SMALL = """
[market]
rate = 0.01

[[market.assets]]
name = "A"
spot = 100.0
vol = 0.2

[market.counterparty]
model = "exponential"
intensity = 0.05
recovery = 0.4

[settings]
n_steps = 10
n_paths = 2000
fva = "none"

[[trades]]
type = "forward"
underlying = "A"
strike = 100.0
maturity = 1.0
"""


def test_example_portfolio_parses():
    cfg = load_config(example_path())
    assert cfg.market.n_assets == 2 and len(cfg.portfolio.trades) == 3
    assert isinstance(cfg.market.bank, StructuralFirm) and cfg.csa.initial_margin
    assert cfg.csa.mpor == pytest.approx(10 / 250)
    # pairs land symmetric in assets-then-firms order: EQ1, EQ2, bank, counterparty
    assert cfg.market.corr[0, 3] == cfg.market.corr[3, 0] == 0.3


@pytest.mark.parametrize("old,new,key", [
    ("vol = 0.2\n", "vol = 0.2\nvolatility = 0.3\n", "volatility"),
    ("recovery = 0.4\n", "recovery = 0.4\nrecover = 0.4\n", "recover"),
    ("maturity = 1.0\n", "maturity = 1.0\nstrik = 3\n", "strik"),
    ("[settings]\n", "[settings]\npaths = 3\n", "paths"),
])
def test_unknown_keys_name_the_key_and_the_line(old, new, key):
    text = SMALL.replace(old, new, 1)
    line = 1 + [ln.split("=")[0].strip() for ln in text.splitlines()].index(key)
    with pytest.raises(InputError) as err:
        parse_config(text, source="p.toml")
    msg = str(err.value)
    assert f"unknown key {key!r}" in msg and f"p.toml, line {line}:" in msg, msg


def test_unknown_table_names_its_line():
    with pytest.raises(InputError, match=r"line 2: .*unknown key 'markets'"):
        parse_config(SMALL.replace("[market]", "[markets]"), source="p.toml")


@pytest.mark.parametrize("old,new,match", [
    ("vol = 0.2", "vol = -0.2", "volatility"),
    ("recovery = 0.4", "recovery = 1.4", "recovery"),
    ("intensity = 0.05", "intensity = -0.05", "intensity"),
    ("maturity = 1.0", "maturity = -1.0", "past"),
    ("type = \"forward\"", "type = \"swap\"", "unknown trade type"),
    ("underlying = \"A\"", "underlying = \"B\"", "underlying"),
    ("rate = 0.01", "rate = 0.01 0.02", "not valid TOML"),
])
def test_bad_values_in_toml_raise_typed_errors(old, new, match):
    with pytest.raises(InputError, match=match):
        parse_config(SMALL.replace(old, new, 1))


def test_non_psd_correlation_in_toml():
    text = SMALL.replace('[market.counterparty]\nmodel = "exponential"\nintensity = 0.05',
                         '[market.counterparty]\nmodel = "structural"\nvalue = 100.0\nbarrier = 60.0\nvol = 0.2')
    text = text.replace("[settings]", "[market.correlation]\nmatrix = [[1.0, 1.5], [1.5, 1.0]]\n\n[settings]")
    with pytest.raises(InputError, match="corr"):
        parse_config(text)


def test_cli_run_writes_the_report(tmp_path, capsys):
    cfg = tmp_path / "p.toml"
    cfg.write_text(SMALL)
    assert main(["run", str(cfg), "--out", str(tmp_path / "rep")], prog="stochflow xva") == 0
    out = capsys.readouterr().out
    assert "CVA" in out and "FVA" in out
    report = json.loads((tmp_path / "rep" / "xva.json").read_text())
    assert report["cva"]["value"] > 0 and report["cva"]["ci95"][0] < report["cva"]["value"]
    assert report["fva"] is None
    assert (tmp_path / "rep" / "exposure.png").stat().st_size > 1000
    assert len((tmp_path / "rep" / "exposure.csv").read_text().splitlines()) == 12


def test_mc_block_size_from_toml_and_cli(tmp_path, capsys):
    assert parse_config(SMALL.replace("[settings]\n", "[settings]\nmc_block_size = 300\n", 1)).settings.mc_block_size == 300
    cfg = tmp_path / "p.toml"
    cfg.write_text(SMALL)
    assert main(["run", str(cfg), "--out", str(tmp_path / "a"), "--block-size", "250", "--json"]) == 0
    blocked = json.loads(capsys.readouterr().out)
    assert main(["run", str(cfg), "--out", str(tmp_path / "b"), "--json"]) == 0
    whole = json.loads(capsys.readouterr().out)
    assert blocked["cva"]["value"] != whole["cva"]["value"]  # other paths, the same estimate within noise
    assert abs(blocked["cva"]["value"] - whole["cva"]["value"]) < 4 * math.hypot(blocked["cva"]["stderr"],
                                                                                whole["cva"]["stderr"])
    assert main(["run", str(cfg), "--block-size", "0"]) == 2


def test_cli_bad_toml_is_a_one_line_error_with_exit_code_2(tmp_path, capsys):
    cfg = tmp_path / "p.toml"
    cfg.write_text(SMALL.replace("strike = 100.0", "strike = 100.0\ncolour = 1"))
    assert main(["run", str(cfg)], prog="stochflow xva") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "colour" in err and "line" in err
    with pytest.raises(SystemExit) as ex:
        main(["run"], prog="stochflow xva")
    assert ex.value.code == 2
    assert main(["run", str(tmp_path / "missing.toml")], prog="stochflow xva") == 2


def test_cli_example_prints_a_parsable_portfolio(capsys):
    assert main(["example"], prog="stochflow xva") == 0
    assert parse_config(capsys.readouterr().out).market.n_assets == 2


def test_plugin_conformance():
    names = {e.name for e in check_plugin("stochflow-xva")}
    assert {"deep-bsde", "correlated-gbm", "first-passage-default", "xva"} <= names


@pytest.mark.slow
def test_demo_runs_and_plots(tmp_path):
    from stochflow.core.demo import DemoResult
    from stochflow.xva.demo import run

    res = run(tmp_path)
    assert isinstance(res, DemoResult)
    assert res.figures and all(f.exists() for f in res.figures)
    assert all(math.isfinite(v) for v in res.metrics.values() if v is not None)


def test_plugin_module_does_not_import_torch():
    import subprocess
    import sys

    code = ("import sys; import stochflow.xva._plugin as p; p.stochflow_solvers(); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_stochflow_cli_dispatches_to_the_xva_command(capsys):
    """``stochflow xva example`` through the registry, as a user types it."""
    from stochflow.core.cli import main as stochflow_main

    assert stochflow_main(["xva", "example"]) == 0
    assert parse_config(capsys.readouterr().out).market.n_assets == 2
