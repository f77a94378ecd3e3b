"""The stochflow CLI: every built-in command, JSON output, plugin commands, exit codes."""

from __future__ import annotations

import json
import os

import pytest


def test_help_lists_builtin_and_plugin_commands(good_site):
    out = good_site.cli("--help")
    assert out.returncode == 0
    for name in ("plugins", "list", "demo", "toy"):
        assert f"  {name} " in out.stdout
    assert "[stochflow-toy]" in out.stdout


def test_plugins_list_json(good_site):
    out = good_site.cli("plugins", "list", "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    for row in rows:
        assert {"name", "version", "status", "entries"} <= set(row)
    toy = next(r for r in rows if r["name"] == "stochflow-toy")
    assert toy["status"] == "active" and toy["version"] == "1.2.3"
    assert {"kind": "solver", "name": "toy-solver"} in toy["entries"]


def test_plugins_list_table_shows_errors(site):
    site.add_dist("stochflow-broken", "0.0.1", "stochflow-broken", "broken_plugin", "import not_a_module_xyz\n")
    out = site.cli("plugins", "list")
    assert out.returncode == 0, out.stderr
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("stochflow-broken"))
    assert "error: ModuleNotFoundError" in line and "not_a_module_xyz" in line


@pytest.mark.parametrize("kind", ["processes", "solvers", "models", "datasets", "commands", "demos"])
def test_list_json_every_kind(good_site, kind):
    out = good_site.cli("list", kind, "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    for row in rows:
        assert {"name", "kind", "backends", "plugin", "summary"} <= set(row)
        assert row["kind"] + ("es" if row["kind"].endswith("s") else "s") == kind


def test_list_solvers_table_and_backend_filter(good_site):
    out = good_site.cli("list", "solvers")
    assert out.returncode == 0
    assert "toy-solver" in out.stdout and "strong 0.5, weak 1" in out.stdout
    out = good_site.cli("list", "solvers", "--backend", "jax", "--json")
    assert json.loads(out.stdout) == []
    out = good_site.cli("list", "solvers", "--backend", "numpy", "--json")
    assert [r["name"] for r in json.loads(out.stdout)] == ["toy-solver"]


def test_demo_runs_writes_files_and_json(good_site, tmp_path):
    out = good_site.cli("demo", "toy", "--out", str(tmp_path / "o"), "--json")
    assert out.returncode == 0, out.stderr
    [row] = json.loads(out.stdout)
    assert row["name"] == "toy" and row["error"] is None and row["metrics"] == {"answer": 42}
    assert (tmp_path / "o" / "toy" / "toy.txt").read_text() == "hello"
    text = good_site.cli("demo", "--out", str(tmp_path / "p"))
    assert text.returncode == 0 and "toy ran" in text.stdout


def test_demo_list(good_site):
    out = good_site.cli("demo", "--list")
    assert out.returncode == 0 and out.stdout.startswith("toy ")


def test_failing_demo_gives_exit_code_1(site, tmp_path):
    site.add_dist("stochflow-bad", "0.1", "stochflow-bad", "bad_plugin", """
        from stochflow.core import DemoEntry, hookimpl
        @hookimpl
        def stochflow_demos():
            return [DemoEntry("bad", "toy_target:solve")]
    """)
    out = site.cli("demo", "bad", "--out", str(tmp_path))
    assert out.returncode == 1 and "FAILED" in out.stdout


def test_no_demos_installed(site, tmp_path):
    out = site.cli("demo", "--out", str(tmp_path))
    assert out.returncode == 1 and "no demos installed" in out.stderr


def test_plugin_command_runs(good_site):
    out = good_site.cli("toy", "hello")
    assert out.returncode == 0 and out.stdout.strip() == "toy says hello"


@pytest.mark.parametrize("args", [
    ["nonsense"],
    ["plugins", "frobnicate"],
    ["list", "widgets"],
    ["list", "solvers", "--backend", "fortran"],
    ["demo", "no-such-demo"],
    ["toy"],  # plugin command missing its argument
])
def test_usage_errors_are_one_line_with_exit_code_2(good_site, args):
    out = good_site.cli(*args)
    assert out.returncode == 2, (args, out.stdout, out.stderr)
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "error:" in out.stderr


def test_unknown_command_suggests_close_match(good_site):
    out = good_site.cli("plugin")
    assert out.returncode == 2 and "did you mean 'plugins'" in out.stderr


@pytest.mark.parametrize("args", [["plugins", "--help"], ["plugins", "list", "--help"], ["list", "--help"],
                                  ["demo", "--help"], ["toy", "--help"], ["--help"]])
def test_help_everywhere(good_site, args):
    out = good_site.cli(*args)
    assert out.returncode == 0 and "usage:" in out.stdout


def test_duplicate_plugins_make_cli_fail_clearly(good_site):
    good_site.add_dist("stochflow-toy2", "0.1", "stochflow-toy2", "toy_plugin2",
                       "from toy_plugin import stochflow_solvers\n")
    out = good_site.cli("plugins", "list")
    assert out.returncode == 1 and "stochflow-toy2" in out.stderr and "stochflow-toy" in out.stderr


def test_console_script_is_installed():
    import shutil
    import subprocess
    import sys

    exe = shutil.which("stochflow", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    assert exe, "the stochflow console script is not installed"
    out = subprocess.run([exe, "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("stochflow-core ")
