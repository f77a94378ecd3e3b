"""nox sessions for the stochflow monorepo.

    python3 -m nox                      # the whole test suite, as CI runs it
    python3 -m nox -s demo              # install everything and run `stochflow demo`
    python3 -m nox -s "tests(sde)"      # one package alone, in a venv with nothing else
    python3 -m nox -s bench -- sde      # a package's benchmarks -> docs/benchmarks/sde.md
    python3 -m nox -s bench -- gpu      # throughput on a GPU (CPU when none) -> docs/benchmarks/gpu.md

Every install goes through constraints.txt, which pins the CPU build of torch that lies on this
machine's disk (any other torch is a multi-GB CUDA download). Each pytest run writes a JUnit
report under .nox-reports/ that .ci/run totals; pytest's exit code 5 (no tests collected) fails the
session like any other non-zero code.

Each session deletes its virtualenv when it ends, pass or fail: every one holds torch (and most
hold JAX), about 1-2 GB each, and the whole suite kept them all at once (17 GB) until a CI machine
ran out of disk. Set STOCHFLOW_KEEP_VENVS=1 to keep them (with `nox -r` to reuse them).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import sys
from pathlib import Path

import nox

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).parent
CONSTRAINTS = ROOT / "constraints.txt"
REPORTS = ROOT / ".nox-reports"
META = "stochflow"
# k-diffusion: a parity anchor (tests) and benchmark rows of stochflow-diffusion, installed with --no-deps
# since its declared dependencies pull torchvision, CLIP and wandb
KDIFFUSION = "k-diffusion==0.1.1.post1"

nox.options.sessions = ["lint", "isolation", "tests", "plugins", "integration", "docs"]
nox.options.error_on_missing_interpreters = True
nox.options.reuse_existing_virtualenvs = False


def _project(folder: Path) -> dict:
    return tomllib.loads((folder / "pyproject.toml").read_text())["project"]


def _local_distributions() -> dict[str, Path]:
    found = {}
    for pyproject in sorted([*ROOT.glob("packages/*/pyproject.toml"), *ROOT.glob("plugins/*/pyproject.toml")]):
        found[_project(pyproject.parent)["name"]] = pyproject.parent
    return found


LOCAL = _local_distributions()
PACKAGES = sorted(p.name for p in LOCAL.values() if p.parent.name == "packages" and p.name != META)
PLUGINS = sorted(p.name for p in LOCAL.values() if p.parent.name == "plugins")


def _requirement_name(req: str) -> str:
    return re.split(r"[\s<>=!~\[;]", req, maxsplit=1)[0].lower()


def _local_closure(folder: Path, extras: tuple[str, ...] = ()) -> list[Path]:
    """Local first-party distributions that ``folder`` needs (itself last), dependencies first."""
    order: list[Path] = []

    def visit(path: Path, extras: tuple[str, ...]) -> None:
        project = _project(path)
        reqs = list(project.get("dependencies", []))
        for extra in extras:
            reqs += project.get("optional-dependencies", {}).get(extra, [])
        for req in reqs:
            name = _requirement_name(req)
            if name in LOCAL and LOCAL[name] not in order:
                visit(LOCAL[name], ())
        if path not in order:
            order.append(path)

    visit(folder, extras)
    return order


def _frees_its_venv(func):
    """Run the session, then delete its virtualenv (see the module docstring) unless told to keep it."""

    @functools.wraps(func)
    def run(session: nox.Session, **kwargs) -> None:
        try:
            func(session, **kwargs)
        finally:
            location = getattr(session.virtualenv, "location", None)
            if location and not os.environ.get("STOCHFLOW_KEEP_VENVS"):
                shutil.rmtree(location, ignore_errors=True)

    return run


def _install(session: nox.Session, folder: Path, extras: tuple[str, ...] = ()) -> None:
    """Install ``folder`` (with extras) and its first-party dependencies from this checkout."""
    paths = _local_closure(folder, extras)
    spec = [str(p) for p in paths[:-1]]
    last = str(paths[-1]) + (f"[{','.join(extras)}]" if extras else "")
    session.install("-c", str(CONSTRAINTS), *spec, last)


def _pytest(session: nox.Session, name: str, *args: str) -> None:
    REPORTS.mkdir(exist_ok=True)
    session.run("python", "-m", "pytest", f"--junitxml={REPORTS / (name + '.xml')}", *args, *session.posargs)


@nox.session
@nox.parametrize("package", PACKAGES, ids=PACKAGES)
@_frees_its_venv
def tests(session: nox.Session, package: str) -> None:
    """One package with core, its first-party dependencies and its test extra: nothing else."""
    folder = ROOT / "packages" / package
    _install(session, folder, ("test",))
    if package == "diffusion":
        session.install("-c", str(CONSTRAINTS), "--no-deps", KDIFFUSION)
    session.env["STOCHFLOW_QUIET"] = "1"
    _pytest(session, f"tests-{package}", str(folder / "tests"))


@nox.session
@_frees_its_venv
def isolation(session: nox.Session) -> None:
    """Core alone: import checks, namespace and metadata rules for every distribution."""
    _install(session, ROOT / "packages" / "core", ("test",))
    _pytest(session, "isolation", str(ROOT / "packages" / "core" / "tests" / "test_isolation.py"),
            str(ROOT / "integration_tests" / "test_metadata.py"))


@nox.session
@nox.parametrize("plugin", PLUGINS, ids=PLUGINS)
@_frees_its_venv
def plugins(session: nox.Session, plugin: str) -> None:
    """Each folder of plugins/ installed as an outsider would, its tests run from its own folder."""
    folder = ROOT / "plugins" / plugin
    _install(session, folder, ("test",))
    session.env["STOCHFLOW_QUIET"] = "1"
    session.chdir(folder)
    _pytest(session, f"plugins-{plugin}", "tests")


def _install_everything(session: nox.Session) -> None:
    meta = ROOT / "packages" / META
    paths = [p for p in LOCAL.values() if p != meta]
    # jax is every package's optional second backend: with everything installed, both backends are
    session.install("-c", str(CONSTRAINTS), *map(str, paths), f"{meta}[all]", "jax")


@nox.session
@_frees_its_venv
def integration(session: nox.Session) -> None:
    """Every package and plugin installed together; integration_tests/."""
    _install_everything(session)
    session.install("pytest>=7")
    session.env["STOCHFLOW_QUIET"] = "1"
    _pytest(session, "integration", str(ROOT / "integration_tests"))


@nox.session
@_frees_its_venv
def demo(session: nox.Session) -> None:
    """Install everything and run `stochflow demo` (plots written to demo-out/)."""
    _install_everything(session)
    session.run("stochflow", "demo", "--out", str(ROOT / "demo-out"), *session.posargs)


@nox.session
@_frees_its_venv
def docs(session: nox.Session) -> None:
    """Build the site with warnings as errors (tutorials execute), then smoke-test it in headless Chromium."""
    _install_everything(session)
    session.install("-c", str(CONSTRAINTS), "-r", str(ROOT / "docs" / "requirements.txt"))
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        if os.geteuid() != 0:
            session.error("the docs smoke test needs Debian's chromium: sudo apt-get install chromium")
        session.run("apt-get", "update", "-qq", external=True)
        session.run("apt-get", "install", "-y", "-qq", "chromium", external=True,
                    env={"DEBIAN_FRONTEND": "noninteractive"})
    session.env.update({"DISABLE_MKDOCS_2_WARNING": "true", "NO_MKDOCS_2_WARNING": "1", "STOCHFLOW_QUIET": "1",
                        "MPLBACKEND": "Agg", "STOCHFLOW_SITE": str(ROOT / "site")})
    session.run("mkdocs", "build", "--strict", "--config-file", str(ROOT / "mkdocs.yml"), "--site-dir", str(ROOT / "site"))
    _pytest(session, "docs", str(ROOT / "docs" / "tests"))


@nox.session
@_frees_its_venv
def gpu(session: nox.Session) -> None:
    """The tests marked `gpu` (device="cuda" paths) on a machine with CUDA, with everything installed.

    Off a GPU machine they are reported as skipped with the reason; install a CUDA build of torch
    first (`pip install torch` without the CPU constraint) to run them for real.
    """
    _install_everything(session)
    session.install("pytest>=7", "hypothesis>=6")
    tests = [str(p / "tests") for p in LOCAL.values() if (p / "tests").is_dir()]
    _pytest(session, "gpu", "-m", "gpu", *tests)


@nox.session
@_frees_its_venv
def lint(session: nox.Session) -> None:
    session.install("ruff>=0.5")
    session.run("ruff", "check", str(ROOT))


@nox.session
@_frees_its_venv
def bench(session: nox.Session) -> None:
    """`nox -s bench -- <package> [--quick]`: the package's benchmarks side by side with its anchors.

    `nox -s bench -- gpu [--quick] [--device cuda]`: benchmarks/gpu_throughput.py, every package's hot
    paths on one device beside the anchors that run there (install a CUDA torch first, as for `gpu`).
    """
    if not session.posargs:
        session.error(f"name a package: nox -s bench -- <package>  (one of {', '.join(PACKAGES)}, or gpu)")
    package, *rest = session.posargs
    if package == "gpu":  # benchmarks/gpu_throughput.py: every package on one device beside its device anchors
        _install_everything(session)
        session.install("-c", str(CONSTRAINTS), "torchsde>=0.2.6", "diffrax>=0.6", "pot>=0.9", "diffusers>=0.25")
        session.run("python", str(ROOT / "benchmarks" / "gpu_throughput.py"), *rest)
        return
    folder = ROOT / "packages" / package
    if not (folder / "benchmarks" / "run.py").exists():
        session.error(f"packages/{package}/benchmarks/run.py does not exist")
    _install(session, folder, ("bench",))
    if package == "bridge":  # torchcfm baseline; --no-deps: its declared deps would pull torchvision/lightning
        session.install("-c", str(CONSTRAINTS), "--no-deps", "torchcfm")
    if package == "diffusion":
        session.install("-c", str(CONSTRAINTS), "--no-deps", KDIFFUSION)
    session.run("python", str(folder / "benchmarks" / "run.py"), *rest)
