"""Side-by-side benchmark of stochflow-sde against torchsde, diffrax and hand-written floors.

Run ``python packages/sde/benchmarks/run.py [--quick]``; writes ``docs/benchmarks/sde.md``.
GBM (mu=0.5, sigma=0.8), Euler, 1000 steps on [0, 1], float32:

* stochflow torch (default fixed-grid path from ``seed``) vs a hand-written torch loop over
  increments drawn in one call (the floor) vs torchsde with its BrownianInterval;
* stochflow JAX (jitted ``lax.scan`` driver, path from ``seed``) vs a jitted ``lax.scan`` floor over
  a flat state that draws each step's increment from ``fold_in(key, k)`` inside the scan (and the
  same loop over increments drawn in one call) vs
  diffrax with UnsafeBrownianPath and with VirtualBrownianTree (compile excluded, reported apart);
* sizes: batch {64, 1024, 16384} x d {1, 10} (``--sizes``), one timed run from batch x d = 1e5;
* work–precision of Euler, Milstein and SRK against torchsde and diffrax (``work_precision.py``),
  and the Brownian tree's queries (``bench_brownian.py``, when present).
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

import stochflow.sde as sde

MU, SIGMA, STEPS = 0.5, 0.8, 1000
ROOT = Path(__file__).resolve().parents[3]


def torch_cases(batch, d):
    y0 = torch.ones(batch, d)
    ts = torch.tensor([0.0, 1.0])
    dt = 1.0 / STEPS
    gbm = sde.GBM(MU, SIGMA)

    def ours():
        return sde.solve(gbm, y0, ts, "euler", dt, seed=0)

    def floor():
        g = torch.Generator().manual_seed(0)
        dw = torch.randn(STEPS, batch, d, generator=g) * math.sqrt(dt)
        y = y0
        for k in range(STEPS):
            y = y + MU * y * dt + SIGMA * y * dw[k]
        return y

    out = {"stochflow (torch)": ours, "torch floor": floor}
    if importlib.util.find_spec("torchsde"):
        import torchsde
        from work_precision import TorchsdeGBM  # a sibling script: this folder is on sys.path

        model = TorchsdeGBM()

        def ts_run():
            bm = torchsde.BrownianInterval(0.0, 1.0, (batch, d), dtype=y0.dtype, entropy=0)
            return torchsde.sdeint(model, y0, ts, bm=bm, method="euler", dt=dt)

        out["torchsde (BrownianInterval)"] = ts_run
    return out


def jax_cases(batch, d):
    import jax
    import jax.numpy as jnp

    y0 = jnp.ones((batch, d), jnp.float32)
    dt = 1.0 / STEPS
    gbm = sde.GBM(MU, SIGMA)
    out = {}

    @jax.jit
    def floor(y0, key):  # the fair best by hand: a flat carry, each step draws inside the scan
        def body(y, k):
            w = jax.random.normal(jax.random.fold_in(key, k), (batch * d,), jnp.float32) * math.sqrt(dt)
            return y + MU * y * dt + SIGMA * y * w, None

        return jax.lax.scan(body, y0.reshape(-1), jnp.arange(STEPS, dtype=jnp.uint32))[0].reshape(batch, d)

    @jax.jit
    def floor_one_draw(y0, key):  # the floor: all increments in one draw, then the scan
        dw = jax.random.normal(key, (STEPS, batch * d), jnp.float32) * math.sqrt(dt)

        def body(y, w):
            return y + MU * y * dt + SIGMA * y * w, None

        return jax.lax.scan(body, y0.reshape(-1), dw)[0].reshape(batch, d)

    @jax.jit
    def same_draw(y0, key):  # the per-step floor drawing through stochflow's unrolled threefry (same numbers)
        from stochflow.sde.brownian._backend import jax_normal

        def body(y, k):
            w = jax_normal(jax.random.fold_in(key, k), batch * d, jnp.float32) * math.sqrt(dt)
            return y + MU * y * dt + SIGMA * y * w, None

        return jax.lax.scan(body, y0.reshape(-1), jnp.arange(STEPS, dtype=jnp.uint32))[0].reshape(batch, d)

    key0 = jax.random.PRNGKey(0)  # built once: a key costs a dispatch, which stochflow caches per seed too
    out["stochflow (jax)"] = lambda: sde.solve(gbm, y0, [0.0, 1.0], "euler", dt, seed=0).block_until_ready()
    out["lax.scan floor (per-step draw)"] = lambda: floor(y0, key0).block_until_ready()
    out["lax.scan floor (one draw)"] = lambda: floor_one_draw(y0, key0).block_until_ready()
    out[SAME_DRAW] = lambda: same_draw(y0, key0).block_until_ready()
    if importlib.util.find_spec("diffrax"):
        import diffrax

        term_f = diffrax.ODETerm(lambda t, y, a: MU * y)

        def make(kind):
            @jax.jit
            def run(y0, key):
                import lineax as lx

                shape = (batch * d,)  # lineax's diagonal operator wants a vector state
                if kind == "unsafe":
                    bm = diffrax.UnsafeBrownianPath(shape=shape, key=key)
                else:
                    bm = diffrax.VirtualBrownianTree(0.0, 1.0, tol=dt / 2, shape=shape, key=key)
                diag = diffrax.ControlTerm(lambda t, y, a: lx.DiagonalLinearOperator(SIGMA * y), bm)
                terms = diffrax.MultiTerm(term_f, diag)
                return diffrax.diffeqsolve(terms, diffrax.Euler(), 0.0, 1.0, dt, y0.reshape(-1),
                                           saveat=diffrax.SaveAt(t1=True), max_steps=STEPS + 1,
                                           adjoint=diffrax.ForwardMode() if kind == "unsafe" else
                                           diffrax.RecursiveCheckpointAdjoint()).ys
            return lambda: run(y0, key0).block_until_ready()

        out["diffrax (UnsafeBrownianPath)"] = make("unsafe")
        out["diffrax (VirtualBrownianTree)"] = make("vbt")
    return out


SAME_DRAW = "scan, unrolled-threefry draw (per-step)"
"""A hand-written scan drawing each step through stochflow's ``jax_normal``: the floor with stochflow's
draw, shown for reference (not one of the floors the ratios use)."""


SHORT = 0.05
"""Seconds under which a case is called several times in a round (a 1 ms run on a loaded machine is
otherwise timed mostly by the scheduler)."""


def _once(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _rounds(cases, repeats):
    """Time every case once per round, the cases back to back within a round (after one untimed
    warm-up call each); a case shorter than ``SHORT`` counts the median of up to 50 back-to-back
    calls. Returns ``{name: [seconds per round]}``; ratios taken within a round see the same load."""
    calls = {name: max(1, min(50, int(SHORT / max(_once(fn), 1e-6)))) for name, fn in cases.items()}
    times = {name: [] for name in cases}
    for _ in range(repeats):
        for name, fn in cases.items():
            times[name].append(statistics.median(_once(fn) for _ in range(calls[name])))
    return times


def _paired_ratio(a, b):
    """Median over rounds of ``a[r] / b[r]``."""
    return statistics.median(x / y for x, y in zip(a, b))


def _compile_time(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _sizes(text):
    try:
        sizes = [tuple(int(v) for v in item.lower().split("x")) for item in text.split(",")]
    except ValueError:
        sizes = []
    if not sizes or any(len(s) != 2 or min(s) < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"sizes are BATCHxD items separated by commas (e.g. 64x1,1024x10), got {text!r}")
    return sizes


ALL_SIZES = [(64, 1), (64, 10), (1024, 1), (1024, 10), (16384, 1), (16384, 10)]
BIG = 100_000  # batch x d from which one timed run is taken (a run takes seconds to minutes here)


def _load():
    try:
        return "load average " + ", ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:  # pragma: no cover - not on every platform
        return "load average unknown"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="one size (1024 x 10) and quick sibling sections")
    p.add_argument("--sizes", type=_sizes, default=None,
                   help="BATCHxD list, e.g. 64x1,1024x10 (default: all of " + ",".join(f"{b}x{d}" for b, d in ALL_SIZES)
                   + f"); sizes with batch x d >= {BIG} are timed once")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per case below the big sizes (median)")
    p.add_argument("--sections", default="throughput,work-precision,brownian",
                   help="comma-separated sections to run (throughput always runs)")
    p.add_argument("--out", default=str(ROOT / "docs" / "benchmarks" / "sde.md"))
    args = p.parse_args(argv)
    sizes = args.sizes or ([(1024, 10)] if args.quick else ALL_SIZES)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    load_start = _load()
    cmd = "python packages/sde/benchmarks/run.py" + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
    rows, compile_lines, summary = [], [], []
    for batch, d in sizes:
        for cases, floor_name in ((torch_cases(batch, d), "torch floor"), (jax_cases(batch, d), "lax.scan floor")):
            jax_side = floor_name != "torch floor"
            repeats = args.repeats if jax_side or batch * d < BIG else 1  # torchsde: ~100 s a run at the largest
            cases = {n: f for n, f in cases.items() if not ("VirtualBrownianTree" in n and batch * d > 20000)}
            for name, fn in cases.items():  # first call: compile (JAX) and warm-up
                first = _compile_time(fn)
                if jax_side:
                    compile_lines.append(f"| {batch} x {d} | {name} | {first:.3f} |")
            times = _rounds(cases, repeats)
            for name, ts in times.items():
                print(f"{batch}x{d} {name}: {statistics.median(ts):.4f}s", file=sys.stderr, flush=True)
            floors = [n for n in cases if n.startswith(floor_name)]
            best = [min(times[n][r] for n in floors) for r in range(repeats)]  # the fastest floor, round by round
            for name, ts in times.items():
                sec = statistics.median(ts)
                rows.append(f"| {batch} x {d} | {name} | {repeats} | {sec:.4f} | {batch * STEPS / sec:.3g} | "
                            f"{_paired_ratio(ts, best):.2f} |")
            ours = "stochflow (jax)" if jax_side else "stochflow (torch)"
            anchor = "diffrax (UnsafeBrownianPath)" if jax_side else "torchsde (BrownianInterval)"
            if anchor in times:
                r_floor, r_anchor = _paired_ratio(times[ours], best), _paired_ratio(times[ours], times[anchor])
                met = (r_floor <= 1.2 and r_anchor <= 1.2) if jax_side else r_floor <= 1.3
                same = f"{_paired_ratio(times[ours], times[SAME_DRAW]):.2f}" if jax_side else ""
                summary.append(f"| {batch} x {d} | {ours} | {r_floor:.2f} | {r_anchor:.2f} ({anchor.split(' ')[0]}) "
                               f"| {same} | {'yes' if met else 'no'} |")
    lines = [
        "# stochflow-sde benchmarks", "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores ({platform.processor() or 'cpu'}), "
        f"Python {platform.python_version()}, torch {torch.__version__}"
        + (f", jax {__import__('jax').__version__}" if importlib.util.find_spec("jax") else "") + ". "
        f"The machine is shared with other jobs ({load_start} at the start of the throughput runs, "
        f"{_load()} at their end), so absolute timings carry noise of tens of percent; each size runs its "
        "cases back to back, so the ratios are the figures to read.", "",
        f"Reproduce: `{cmd}` (or `nox -s bench -- sde`).", "",
        f"## GBM, Euler, {STEPS} steps, float32 (median of the timed runs, seconds; ratio to the floor)", "",
        "Timing: after one untimed first call per case (the JAX compile, reported below), the cases of a size "
        "and backend run back to back in rounds; a case under 50 ms counts the median of up to 50 back-to-back "
        "calls in each round. A ratio is the median over rounds of the two times of the same round, so load "
        "that changes between rounds cancels.", "",
        "Floors: the torch floor is a Python loop over increments drawn in one call. The JAX floors are jitted "
        "`lax.scan` loops over a flattened (1-D) state (2x faster here than a `(batch, d)` carry), one drawing each "
        "step's increment from `fold_in(key, k)` inside the scan, the other scanning over increments drawn in one "
        "call first; JAX ratios are to the faster of the two at each size. stochflow's JAX path is the same "
        "numbers either way (step k from `fold_in(key, k)`, reproducible from `seed`): drawn in one vectorised "
        "call when steps x batch x d <= 2^21, inside the scan above. Its normals are `jax.random.normal`'s "
        "bit for bit, computed through a threefry written out round by round (`stochflow.sde.brownian._backend."
        "jax_normal`): XLA's CPU lowering of `jax.random` rolls the hash into a while loop that it does not fuse. "
        f"The row `{SAME_DRAW}` is the per-step floor with that draw, for reference (not a floor of the ratios). "
        "diffrax's VirtualBrownianTree is left out above batch x d = 20000 (minutes per run).", "",
        "| batch x d | library | runs | median s | path-steps/s | ratio to floor |",
        "|---|---|---|---|---|---|", *rows, "",
        "Summary: stochflow's time over the floor of its backend and over the anchor's time "
        "(goals: torch <= 1.3x the floor; JAX <= 1.2x the floor and <= 1.2x diffrax UnsafeBrownianPath); "
        "`/ same draw`: JAX over the hand-written scan with stochflow's draw.", "",
        "| batch x d | backend | / floor | / anchor | / same draw | goal met |", "|---|---|---|---|---|---|",
        *summary, "",
        "First call of each JAX case (compile + one run), seconds:", "",
        "| batch x d | library | first call s |", "|---|---|---|", *compile_lines, "",
    ]
    wanted = {s.strip() for s in args.sections.split(",")}
    old_page = Path(args.out).read_text() if Path(args.out).exists() else ""
    for part, section, heading in (("work_precision", "work-precision", "## Work–precision"),
                                   ("bench_brownian", "brownian", "## Brownian trees")):
        # sections in sibling modules: run(quick) -> markdown; a section not run keeps its text from the page
        path = Path(__file__).with_name(f"{part}.py")
        if section not in wanted and heading in old_page:
            block = old_page[old_page.index(heading):]
            nxt = block.find("\n## ", 1)
            lines += ["", (block if nxt < 0 else block[:nxt]).strip() + "\n"]
        if path.exists() and section in wanted:
            spec = importlib.util.spec_from_file_location(part, path)
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            lines += ["", mod.run(args.quick)]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
