"""The benchmark writer rewrites only the marked sections it runs; hand-written text survives."""

from __future__ import annotations

from pathlib import Path

from stochflow.core.benchpage import markers
from stochflow.core.testing import load_script

RUN = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"


def _run_module():
    return load_script(RUN, "jump_bench_run")


def test_a_section_run_rewrites_its_block_only(tmp_path):
    run = _run_module()
    out = tmp_path / "jump.md"
    assert run.main(["--quick", "--sections", "speed", "--threads", "1", "--out", str(out)]) == 0
    fresh = out.read_text()
    names = ["header", *run.SECTIONS]
    places = [fresh.index(markers(f"jump run.py {n}")[0]) for n in names]
    assert fresh.startswith(run.TITLE + "\n") and places == sorted(places)  # every section in its place
    assert "### Simulation speed" in fresh and "### About the amortised rows" in fresh
    begin, end = markers("jump run.py speed")
    by_hand = fresh.replace("### About the amortised rows", "### About the amortised rows\n\nRead by hand.")
    by_hand = by_hand.replace(begin, "A note above the speed table.\n\n" + begin)
    speed_block = by_hand[by_hand.index(begin):by_hand.index(end)]
    out.write_text(by_hand.replace(speed_block, begin + "\n\nstale table\n\n"))
    assert run.main(["--quick", "--sections", "speed", "--threads", "1", "--out", str(out)]) == 0
    again = out.read_text()
    assert "stale table" not in again and again.count(begin) == 1 and "### Simulation speed" in again
    assert "Read by hand." in again and "A note above the speed table." in again
