"""The OT benchmark writer rewrites only its marked section of the page."""

from __future__ import annotations

from pathlib import Path

from stochflow.core.benchpage import markers
from stochflow.core.testing import load_script

RUN = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"


def _run_module():
    return load_script(RUN, "bridge_bench_run")


def test_writer_keeps_hand_written_sections():
    run = _run_module()
    begin, end = markers("run.py --part ot")
    page = "# Title\n\nSummary by hand.\n\n## Hand-pasted table\n| a |\n\n## Trajectory inference\nrows\n"
    first = run.splice(page, "generated 1")
    assert first.startswith("# Title\n") and "generated 1" in first
    second = run.splice(first, "generated 2")
    assert "generated 1" not in second and second.count(begin) == 1 and second.count(end) == 1
    for kept in ("Summary by hand.", "## Hand-pasted table\n| a |", "## Trajectory inference\nrows"):
        assert kept in second
    assert run.splice(None, "fresh").startswith("# stochflow-bridge benchmarks\n")
