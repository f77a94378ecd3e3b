"""What a demo returns, and the runner behind ``stochflow demo``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class DemoResult:
    """A demo's printable results and the files (plots) it wrote.

    ``lines`` are short result lines printed by ``stochflow demo``; ``figures`` are paths of the
    files written under the output folder; ``metrics`` are numbers worth keeping (JSON output).
    """

    lines: tuple[str, ...] = ()
    figures: tuple[Path, ...] = ()
    metrics: dict = field(default_factory=dict)


@dataclass(frozen=True)
class DemoRun:
    name: str
    plugin: str
    seconds: float
    result: DemoResult | None
    error: str | None = None


def run_demo(entry, out: Path) -> DemoRun:
    """Run one demo entry, writing into ``out/<name>/``; failures are captured, not raised."""
    folder = Path(out) / entry.name
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    try:
        result = entry.load()(folder)
        if not isinstance(result, DemoResult):
            raise TypeError(f"demo {entry.name!r} returned {type(result).__name__}, not DemoResult")
        return DemoRun(entry.name, entry.plugin, time.perf_counter() - start, result)
    except Exception as exc:  # noqa: BLE001 - reported by the CLI with a non-zero exit code
        return DemoRun(entry.name, entry.plugin, time.perf_counter() - start, None, f"{type(exc).__name__}: {exc}")
