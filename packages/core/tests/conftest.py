"""Fixtures: real throw-away distributions installed into a temporary site folder.

A distribution is "installed" exactly as pip leaves it: a ``NAME-VERSION.dist-info`` folder with
``METADATA`` and ``entry_points.txt`` beside the plugin's module, on ``sys.path``. Registry and
CLI checks run in a subprocess with that folder on ``PYTHONPATH``, so the test process's own
environment is never touched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import pytest

# Plugins installed in the environment running the tests (none in the isolated core session).
INSTALLED_PLUGINS = sorted({ep.name for ep in metadata.entry_points(group="stochflow")})


class Site:
    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def add_dist(self, dist: str, version: str, plugin_name: str, module: str, source: str) -> None:
        """Install distribution ``dist`` whose ``stochflow`` entry point ``plugin_name`` is ``module``."""
        (self.root / f"{module}.py").write_text(textwrap.dedent(source))
        info = self.root / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        (info / "entry_points.txt").write_text(f"[stochflow]\n{plugin_name} = {module}\n")

    def env(self, **extra: str) -> dict[str, str]:
        """The subprocess environment: this site on the path, and the plugins installed in the test
        environment itself disabled, so that the site's plugins are all the registry sees whether the
        tests run in an isolated session or in a venv holding every stochflow package."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("STOCHFLOW_")}
        env["PYTHONPATH"] = os.pathsep.join([str(self.root), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        disabled = [*INSTALLED_PLUGINS, *filter(None, extra.pop("STOCHFLOW_DISABLE_PLUGINS", "").split(","))]
        if disabled:
            env["STOCHFLOW_DISABLE_PLUGINS"] = ",".join(disabled)
        env.update(extra)
        return env

    def python(self, code: str, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                              env=self.env(**extra), timeout=120)

    def cli(self, *args: str, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "stochflow.core.cli", *args], capture_output=True,
                              text=True, env=self.env(**extra), timeout=120)

    def registry_json(self, **extra: str):
        """Plugins and entries as the registry sees them in a fresh process."""
        out = self.python(
            """
            import json
            from stochflow.core import get_registry
            reg = get_registry()
            print(json.dumps({"plugins": [p.to_dict() for p in reg.plugins],
                              "entries": [e.to_dict() for e in reg.list()]}))
            """, **extra)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)


GOOD_PLUGIN = '''
from stochflow.core import SolverEntry, ProcessEntry, DemoEntry, CommandEntry, DemoResult, hookimpl

LOADED = []

@hookimpl
def stochflow_solvers():
    return [SolverEntry("Toy_Solver", "toy_target:solve", "a toy solver", backends=("numpy",),
                        applies_to=("sde",), orders={"strong": 0.5, "weak": 1.0},
                        conformance="toy_target:case")]

@hookimpl
def stochflow_processes():
    return [ProcessEntry("toy-process", "toy_target:Process", "a toy process", backends=("numpy",),
                         conformance="toy_target:case")]

@hookimpl
def stochflow_demos():
    return [DemoEntry("toy", "toy_target:demo", "a toy demo")]

@hookimpl
def stochflow_commands():
    return [CommandEntry("toy", "toy_target:main", "a toy command")]
'''

TOY_TARGET = '''
import numpy as np
from stochflow.core import DemoResult, InputError
from stochflow.core.testing import Case
from stochflow.core.cli import ArgumentParser

class Process:
    pass

def solve(x, seed=0):
    x = np.asarray(x)
    if not np.all(np.isfinite(x)):
        raise InputError("x has NaN or inf entries: clean the input first")
    return x + np.random.default_rng(seed).standard_normal(x.shape).astype(x.dtype)

def case():
    def run(*, backend, dtype, seed, device):
        return solve(np.zeros(3, dtype=dtype), seed=seed)
    return Case(run=run, bad_inputs=[lambda: solve([np.nan])])

def demo(out):
    path = out / "toy.txt"
    path.write_text("hello")
    return DemoResult(lines=("toy ran",), figures=(path,), metrics={"answer": 42})

def main(argv, prog):
    parser = ArgumentParser(prog=prog)
    parser.add_argument("word")
    args = parser.parse_args(argv)
    print(f"toy says {args.word}")
    return 0
'''


@pytest.fixture
def site(tmp_path: Path) -> Site:
    s = Site(tmp_path / "site")
    (s.root / "toy_target.py").write_text(TOY_TARGET)
    return s


@pytest.fixture
def good_site(site: Site) -> Site:
    site.add_dist("stochflow-toy", "1.2.3", "stochflow-toy", "toy_plugin", GOOD_PLUGIN)
    return site
