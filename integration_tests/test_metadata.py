"""Rules every distribution of the monorepo follows, read from the source tree (needs only core)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = sorted(p.parent for p in ROOT.glob("packages/*/pyproject.toml"))
PLUGINS = sorted(p.parent for p in ROOT.glob("plugins/*/pyproject.toml"))
META = ROOT / "packages" / "stochflow"


def project(folder: Path) -> dict:
    return tomllib.loads((folder / "pyproject.toml").read_text())["project"]


def all_requirements(proj: dict) -> list[str]:
    reqs = list(proj.get("dependencies", []))
    for extra in proj.get("optional-dependencies", {}).values():
        reqs += extra
    return reqs


FIRST_PARTY = {project(p)["name"]: p for p in PACKAGES}
VERSION = project(ROOT / "packages" / "core")["version"]


@pytest.mark.parametrize("folder", PACKAGES + PLUGINS, ids=lambda p: p.name)
def test_no_distribution_ships_stochflow_init(folder):
    assert not list(folder.glob("src/stochflow/__init__.py")), "stochflow must stay a PEP 420 namespace"


@pytest.mark.parametrize("folder", PACKAGES, ids=lambda p: p.name)
def test_first_party_versions_move_together_and_pin_each_other(folder):
    proj = project(folder)
    assert proj["version"] == VERSION
    for req in all_requirements(proj):
        name = re.split(r"[\s<>=!~\[;]", req, maxsplit=1)[0].lower()
        if name in FIRST_PARTY:
            assert re.search(rf"==\s*{re.escape(VERSION)}\b", req), f"{proj['name']}: {req!r} must pin =={VERSION}"


@pytest.mark.parametrize("folder", PACKAGES + PLUGINS, ids=lambda p: p.name)
def test_torch_and_jax_are_ranges_in_metadata(folder):
    for req in all_requirements(project(folder)):
        name = re.split(r"[\s<>=!~\[;]", req, maxsplit=1)[0].lower()
        if name in ("torch", "jax", "jaxlib"):
            assert "==" not in req, f"{req!r}: exact pins belong in constraints.txt, not in metadata"


@pytest.mark.parametrize("folder", [p for p in PACKAGES if p != META] + PLUGINS, ids=lambda p: p.name)
def test_each_package_is_complete(folder):
    proj = project(folder)
    assert (folder / "README.md").is_file()
    assert list((folder / "tests").glob("test_*.py")), "no tests"
    eps = proj.get("entry-points", {}).get("stochflow", {})
    assert proj["name"] in eps or folder.name == "core", f"{proj['name']} must register itself in the 'stochflow' entry-point group"
    assert "test" in proj.get("optional-dependencies", {})


def test_meta_distribution_has_an_extra_per_package_and_all():
    extras = project(META)["optional-dependencies"]
    packages = {project(p)["name"] for p in PACKAGES if p != META and p.name != "core"}
    for name in packages:
        short = name.removeprefix("stochflow-")
        assert extras[short] == [f"{name}=={VERSION}"], short
    assert sorted(extras["all"]) == sorted(f"{n}=={VERSION}" for n in packages)


def test_constraints_pin_the_cpu_torch():
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    assert "torch==2.13.0" in [ln.strip() for ln in lines]


def _readme_block(marker: str) -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(rf"<!-- {marker} -->\s*```(?:bash|sh)?\n(.*?)\n```", text, re.S)
    assert match, f"README.md has no block marked <!-- {marker} -->"
    return match.group(1).strip()


def test_readme_quick_start_is_two_commands_and_ci_runs_the_test_one():
    demo, test = _readme_block("demo-command"), _readme_block("test-command")
    assert len(demo.splitlines()) == 1 and len(test.splitlines()) == 1
    assert "nox" in shlex.split(demo) or any("nox" in w for w in shlex.split(demo))
    ci = (ROOT / ".ci" / "run").read_text()
    assert "test-command" in ci, ".ci/run must run the README's marked test command"
