"""The ``stochflow`` command line. Its subcommands come from plugins (``stochflow_commands``).

A command entry's target is ``main(argv: list[str], prog: str) -> int``; it is imported only when
that command runs, so ``stochflow --help`` stays fast whatever is installed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from stochflow.core.errors import DuplicateEntryError, StochflowError, UnknownEntryError

USAGE_ERROR = 2


class ArgumentParser(argparse.ArgumentParser):
    """argparse with a one-line error message and exit code 2 (for plugin commands too)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message.splitlines()[0]}\n")


def _fail(prog: str, message: str, code: int = USAGE_ERROR) -> int:
    print(f"{prog}: error: {message}", file=sys.stderr)
    return code


def _registry(prog: str = "stochflow"):
    from stochflow.core.registry import get_registry

    return get_registry()


def _plural(kind: str) -> str:
    """``process`` -> ``processes``, ``solver`` -> ``solvers``."""
    return f"{kind}es" if kind.endswith("s") else f"{kind}s"


def _table(rows: list[list[str]], header: list[str]) -> str:
    rows = [header, *rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``stochflow`` script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        registry = _registry("stochflow")
    except DuplicateEntryError as exc:
        return _fail("stochflow", str(exc), 1)
    commands = registry.list("command")
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: stochflow COMMAND [ARGS...]\n\nstochflow: stochastic processes, solvers and learned models.\n")
        print("commands:")
        for e in commands:
            print(f"  {e.name:<10} {e.summary}  [{e.plugin}]")
        print("\nRun 'stochflow COMMAND --help' for a command's options.")
        return 0
    if argv[0] == "--version":
        from stochflow.core.registry import _core_version

        print(f"stochflow-core {_core_version()}")
        return 0
    try:
        entry = registry.get("command", argv[0])
    except UnknownEntryError as exc:
        return _fail("stochflow", f"{exc}; run 'stochflow --help'")
    except StochflowError as exc:
        return _fail("stochflow", str(exc))
    try:
        command = entry.load()
    except StochflowError as exc:
        return _fail("stochflow", str(exc), 1)
    result = command(argv[1:], prog=f"stochflow {entry.name}")
    return int(result or 0)


# -- built-in commands ---------------------------------------------------------------------


def plugins_main(argv: Sequence[str], prog: str = "stochflow plugins") -> int:
    parser = ArgumentParser(prog=prog, description="Installed stochflow plugins.")
    sub = parser.add_subparsers(dest="action", required=True, parser_class=ArgumentParser)
    p_list = sub.add_parser("list", help="one row per plugin: name, version, status, what it provides")
    p_list.add_argument("--json", action="store_true", help="print a JSON list of objects")
    args = parser.parse_args(argv)
    registry = _registry(prog)
    plugins = registry.plugins
    if args.json:
        print(json.dumps([p.to_dict() for p in plugins], indent=2))
        return 0
    rows = []
    for p in plugins:
        provides = "; ".join(f"{_plural(k)}: {', '.join(v)}" for k, v in sorted(p.provides().items()))
        rows.append([p.name, p.version, p.status, provides])
    print(_table(rows, ["plugin", "version", "status", "provides"]))
    return 0


def list_main(argv: Sequence[str], prog: str = "stochflow list") -> int:
    from stochflow.core.entries import ENTRY_TYPES

    kinds = [_plural(k) for k in ENTRY_TYPES]
    parser = ArgumentParser(prog=prog, description="Registered entries of one kind.")
    parser.add_argument("kind", choices=kinds, help="what to list")
    parser.add_argument("--backend", choices=["torch", "jax", "numpy"], help="only entries supporting it")
    parser.add_argument("--applies-to", help="solvers only: the problem type (sde, ode, ot, diffusion...)")
    parser.add_argument("--json", action="store_true", help="print a JSON list of objects")
    args = parser.parse_args(argv)
    entries = _registry(prog).list(args.kind, backend=args.backend, applies_to=args.applies_to)
    if args.json:
        print(json.dumps([e.to_dict() for e in entries], indent=2))
        return 0
    solvers = args.kind == "solvers"
    rows = []
    for e in entries:
        row = [e.name, ",".join(e.backends), e.plugin]
        if solvers:
            row.append(", ".join(f"{k} {v:g}" for k, v in e.orders))
            row.append(",".join(e.applies_to))
        rows.append([*row, e.summary])
    header = ["name", "backends", "plugin", *(["orders", "applies to"] if solvers else []), "summary"]
    print(_table(rows, header))
    return 0


def demo_main(argv: Sequence[str], prog: str = "stochflow demo") -> int:
    from stochflow.core.demo import run_demo

    parser = ArgumentParser(prog=prog, description="Run the demos that installed packages register.")
    parser.add_argument("names", nargs="*", help="demos to run (default: all)")
    parser.add_argument("--out", default="demo-out", type=Path, help="folder for plots (default: demo-out)")
    parser.add_argument("--list", action="store_true", help="list the demos and exit")
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    args = parser.parse_args(argv)
    registry = _registry(prog)
    if args.list:
        for e in registry.list("demo"):
            print(f"{e.name:<12} {e.summary}  [{e.plugin}]")
        return 0
    try:
        entries = [registry.get("demo", n) for n in args.names] if args.names else registry.list("demo")
    except UnknownEntryError as exc:
        return _fail(prog, str(exc))
    if not entries:
        return _fail(prog, "no demos installed: install a stochflow package, e.g. pip install stochflow-sde", 1)
    runs = []
    for entry in entries:
        if not args.json:
            print(f"== {entry.name} ({entry.plugin}): {entry.summary}", flush=True)
        run = run_demo(entry, args.out)
        runs.append(run)
        if args.json:
            continue
        if run.error:
            print(f"   FAILED after {run.seconds:.1f} s: {run.error}")
            continue
        for line in run.result.lines:
            print(f"   {line}")
        for fig in run.result.figures:
            print(f"   wrote {fig}")
        print(f"   done in {run.seconds:.1f} s", flush=True)
    if args.json:
        print(json.dumps([
            {"name": r.name, "plugin": r.plugin, "seconds": r.seconds, "error": r.error,
             "lines": list(r.result.lines) if r.result else [],
             "figures": [str(f) for f in r.result.figures] if r.result else [],
             "metrics": r.result.metrics if r.result else {}}
            for r in runs], indent=2))
    return 1 if any(r.error for r in runs) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
