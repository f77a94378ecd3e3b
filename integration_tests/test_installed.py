"""With every package and plugin installed: the registry sees them all through entry points,
they pass the conformance kit, and the CLI's JSON is well formed."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import tomllib

from stochflow.core import get_registry
from stochflow.core.testing import check_plugin

ROOT = Path(__file__).resolve().parents[1]
DISTS = sorted(
    tomllib.loads(p.read_text())["project"]["name"]
    for p in [*ROOT.glob("packages/*/pyproject.toml"), *ROOT.glob("plugins/*/pyproject.toml")]
    if p.parent.name not in ("stochflow", "core")
)


def _cli(*args: str) -> subprocess.CompletedProcess:
    exe = shutil.which("stochflow")
    assert exe, "the stochflow console script is not on PATH"
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=300)


def test_every_first_party_distribution_and_plugin_is_active():
    out = _cli("plugins", "list", "--json")
    assert out.returncode == 0, out.stderr
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    for dist in DISTS:
        assert dist in rows, f"{dist} is installed but not registered"
        assert rows[dist]["status"] == "active", rows[dist]
        assert rows[dist]["entries"], f"{dist} provides nothing"
    assert rows["stochflow-core"]["source"] == "builtin"


@pytest.mark.parametrize("dist", DISTS)
def test_each_plugin_passes_the_conformance_kit_beside_all_others(dist):
    assert check_plugin(dist)


@pytest.mark.parametrize("kind", ["processes", "solvers", "models", "datasets", "commands", "demos"])
def test_list_json_is_well_formed(kind):
    out = _cli("list", kind, "--json")
    assert out.returncode == 0, out.stderr
    for row in json.loads(out.stdout):
        assert {"name", "kind", "backends", "plugin", "summary"} <= set(row)


def test_every_package_contributes_a_demo():
    demos = {e.plugin for e in get_registry().list("demo")}
    packages = [d for d in DISTS if (ROOT / "packages" / d.removeprefix("stochflow-")).is_dir()]
    missing = [d for d in packages if d not in demos]
    assert not missing, f"no demo registered by {missing}"
