"""Pages generated at build time: the API reference of every installed stochflow package (one page
per package, every public name), the table of registered entries, and the benchmarks index."""

from __future__ import annotations

import importlib
from pathlib import Path

import mkdocs_gen_files

from stochflow.core import get_registry

DOCS = Path(__file__).parent
registry = get_registry()

# -- API reference ------------------------------------------------------------------------


def _package_of(target: str) -> str:
    """``"stochflow.sde.solvers:euler"`` -> ``"stochflow.sde"``; ``"stochflow_fbm.x:y"`` -> ``"stochflow_fbm"``."""
    parts = target.split(":")[0].split(".")
    return ".".join(parts[:2]) if parts[0] == "stochflow" else parts[0]


modules = sorted({_package_of(e.target) for p in registry.plugins if p.ok for e in p.entries})
with mkdocs_gen_files.open("api/index.md", "w") as index:
    index.write("# API reference\n\nGenerated from the numpydoc docstrings of every installed package.\n\n")
    for name in modules:
        module = importlib.import_module(name)
        public = sorted(getattr(module, "__all__", [n for n in dir(module) if not n.startswith("_")]))
        page = f"api/{name}.md"
        index.write(f"- [`{name}`]({name}.md): {len(public)} public names\n")
        with mkdocs_gen_files.open(page, "w") as f:
            f.write(f"# `{name}`\n\n")
            doc = (module.__doc__ or "").strip()
            if doc:
                f.write(doc + "\n\n")
            for item in public:
                obj = getattr(module, item)
                if isinstance(obj, type(importlib)):
                    f.write(f"::: {obj.__name__}\n    options:\n      show_root_heading: true\n\n")
                else:
                    # the defining module: packages that export names lazily (module __getattr__)
                    # are opaque to static analysis under their own name
                    home = getattr(obj, "__module__", None)
                    where = home if home and home.startswith(name) and hasattr(obj, "__qualname__") else name
                    qual = getattr(obj, "__qualname__", item) if where != name else item
                    f.write(f"::: {where}.{qual}\n    options:\n      heading: {name}.{item}\n\n")

# -- registered entries -------------------------------------------------------------------
with mkdocs_gen_files.open("registry.md", "w") as f:
    f.write("# Registered entries\n\nEverything the installed plugins register, as `stochflow list` shows it.\n\n")
    f.write("| plugin | version | status |\n|---|---|---|\n")
    for p in registry.plugins:
        f.write(f"| {p.name} | {p.version} | {p.status} |\n")
    for kind in ("process", "solver", "model", "dataset", "command", "demo"):
        entries = registry.list(kind)
        if not entries:
            continue
        f.write(f"\n## {kind.capitalize()}s\n\n")
        if kind == "solver":
            f.write("| name | applies to | orders | backends | plugin | summary |\n|---|---|---|---|---|---|\n")
            for e in entries:
                orders = ", ".join(f"{k} {v:g}" for k, v in e.orders)
                f.write(f"| `{e.name}` | {', '.join(e.applies_to)} | {orders} | {', '.join(e.backends)} | "
                        f"{e.plugin} | {e.summary} |\n")
        else:
            f.write("| name | backends | plugin | summary |\n|---|---|---|---|\n")
            for e in entries:
                f.write(f"| `{e.name}` | {', '.join(e.backends)} | {e.plugin} | {e.summary} |\n")

# -- benchmarks index ---------------------------------------------------------------------
pages = sorted(p for p in (DOCS / "benchmarks").glob("*.md") if p.name != "index.md")
with mkdocs_gen_files.open("benchmarks/index.md", "w") as f:
    f.write("# Benchmarks\n\nEach package's `benchmarks/run.py` compares it side by side with its anchors in one run "
            "(`python3 -m nox -s bench -- <package>`) and writes its page here, naming the machine.\n\n")
    for page in pages:
        title = next((ln.lstrip("# ").strip() for ln in page.read_text().splitlines() if ln.startswith("#")), page.stem)
        f.write(f"- [{title}]({page.name})\n")
