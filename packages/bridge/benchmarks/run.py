"""Benchmark: stochflow's log-Sinkhorn and Sinkhorn-Newton-Sparse against POT, ott-jax and regot.

Every method solves the same float64 problems to its own stopping rule at tol = 1e-8; the marginal error
``||P1 - a||_1 + ||P^T 1 - b||_1`` of each returned plan is then computed one way for all, and a run
counts as converged when that error is <= 1e-8 (x 10 slack for POT, whose rule checks one marginal
in L2). Times are wall-clock medians over ``--repeats`` runs after one warm-up run (JIT compilation
excluded). Anchors that are not installed are left out (named in the page).

    python packages/bridge/benchmarks/run.py            # n in {500, 2000}, reg/mean(M) in {0.05, 0.01}
    python packages/bridge/benchmarks/run.py --quick    # n = 500 only
    python packages/bridge/benchmarks/run.py --part ot --families clouds2 clouds6 digits   # the other families

Families (``--families``): ``gauss3`` (two Gaussian clouds in 3-D, squared-Euclidean cost) and ``assignment``
(uniform random cost), the default; ``clouds2``/``clouds6`` (the same clouds in 2-D and 6-D); ``digits`` (two
``load_digits`` images upsampled to ``--digits-side``^2 bins, L1 and squared-L2 costs on the pixel grid). Every row
also gives the cost error |<P, M> - ot.emd2(a, b, M)| / ot.emd2 of its plan.
    nox -s bench -- bridge
    python packages/bridge/benchmarks/run.py --part trajectory   # only the trajectory-inference section

After the OT tables it runs ``trajectory.py`` (held-out-time W1/W2/MMD on the generated systems against
torchcfm's OT-CFM and SB-CFM) into the same page.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")   # before numpy/regot load: one thread each, no oversubscription

import numpy as np  # noqa: E402

from stochflow.core import benchpage  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
TOL = 1e-8


def marginal_error(P, a, b) -> float:
    P = np.asarray(P, dtype=np.float64)
    return float(np.abs(P.sum(1) - a).sum() + np.abs(P.sum(0) - b).sum())


FAMILIES = ("gauss3", "assignment", "clouds2", "clouds6", "digits")
DEFAULT_FAMILIES = ("gauss3", "assignment")   # the families of the existing tables


def digit_densities(side=24, eps=1e-4, pair=(0, 1)):
    """Two different 8x8 ``load_digits`` images, upsampled to ``side x side``, as positive histograms.

    Bilinear upsampling (``scipy.ndimage.zoom``, order 1) of images ``pair`` of the data set, clipped at zero,
    plus ``eps`` times the mean pixel so that every bin has mass, then normalised to sum 1. Returns
    ``(a, b, grid)`` with ``grid`` the ``(side**2, 2)`` pixel coordinates in [0, 1]^2.
    """
    from scipy.ndimage import zoom
    from sklearn.datasets import load_digits

    images = load_digits().images
    hist = []
    for i in pair:
        img = np.clip(zoom(images[i].astype(np.float64), side / 8, order=1), 0.0, None).ravel()
        img = img + eps * img.mean()
        hist.append(img / img.sum())
    t = np.arange(side, dtype=np.float64) / (side - 1)
    gx, gy = np.meshgrid(t, t, indexing="ij")
    return hist[0], hist[1], np.stack([gx.ravel(), gy.ravel()], axis=1)


def problems(ns, regs, families=DEFAULT_FAMILIES, seed=0, digits_side=24):
    """(label, a, b, M, reg fraction) for every family, size and reg (digits: one size, ``digits_side**2`` bins)."""
    rng = np.random.default_rng(seed)
    for n in ns:
        a = np.full(n, 1.0 / n)
        # both draws always happen, so each family's problem does not depend on which families are selected
        x, y = rng.normal(size=(n, 3)), 0.7 * rng.normal(size=(n, 3)) + 1.0
        M2 = rng.uniform(size=(n, n))
        if "gauss3" in families:
            M = ((x[:, None] - y[None]) ** 2).sum(-1)
            yield from ((f"gaussian clouds 3-D, n={n}", a, a.copy(), M, f) for f in regs)
        if "assignment" in families:
            yield from ((f"random assignment, n={n}", a, a.copy(), M2, f) for f in regs)
        for d in (2, 6):
            if f"clouds{d}" in families:
                crng = np.random.default_rng([seed, d, n])   # own stream: independent of the other families
                x, y = crng.normal(size=(n, d)), 0.7 * crng.normal(size=(n, d)) + 1.0
                M = ((x[:, None] - y[None]) ** 2).sum(-1)
                yield from ((f"gaussian clouds {d}-D, n={n}", a, a.copy(), M, f) for f in regs)
    if "digits" in families:
        da, db, grid = digit_densities(digits_side)
        diff = grid[:, None] - grid[None]
        k = digits_side ** 2
        for cost, M in (("L1", np.abs(diff).sum(-1)), ("squared L2", (diff ** 2).sum(-1))):
            yield from ((f"digits 0 -> 1 {digits_side}x{digits_side}, {cost}, n={k}", da, db, M, f) for f in regs)


def cost_error(P, M, exact) -> float:
    """|<P, M> - emd2| / emd2: the entropic plan's transport cost against the exact OT cost."""
    return abs(float(np.sum(np.asarray(P, dtype=np.float64) * M)) - exact) / exact


def exact_cost(a, b, M):
    """``ot.emd2(a, b, M)`` (float), or None when POT is not installed."""
    try:
        import ot
    except ImportError:
        return None
    return float(ot.emd2(a, b, M, numItermax=10_000_000))


def runners(max_iter):
    """(name, fn(a, b, M, reg) -> (plan, iterations)) for everything installed; and the missing anchors."""
    import torch

    from stochflow.bridge import sinkhorn

    out, missing = [], []

    def ours(method, fw):
        def run(a, b, M, reg):
            if fw == "jax":
                import jax.numpy as jnp

                o = sinkhorn(jnp.asarray(a), jnp.asarray(b), jnp.asarray(M), reg, method=method, tol=TOL,
                             max_iter=max_iter)
                return np.asarray(o.plan), o.n_iter
            o = sinkhorn(torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(M), reg, method=method, tol=TOL,
                         max_iter=max_iter)
            return o.plan.numpy(), o.n_iter
        return run

    out += [("stochflow log (torch)", ours("log", "torch")), ("stochflow sns (torch)", ours("sns", "torch"))]
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        out.append(("stochflow sns (jax)", ours("sns", "jax")))
    except ImportError:
        missing.append("jax")
    try:
        import ot

        def pot(method):
            def run(a, b, M, reg):
                P, log = ot.sinkhorn(a, b, M, reg, method=method, stopThr=TOL, numItermax=max_iter, log=True,
                                     warn=False)
                return P, int(log.get("niter", -1))
            return run

        out += [("POT sinkhorn_log", pot("sinkhorn_log")), ("POT sinkhorn", pot("sinkhorn"))]
    except ImportError:
        missing.append("POT")
    try:
        import jax
        from ott.geometry import geometry
        from ott.problems.linear import linear_problem
        from ott.solvers.linear import acceleration
        from ott.solvers.linear import sinkhorn as ott_sinkhorn

        def ott_run(anderson):
            kw = {"anderson": acceleration.AndersonAcceleration(memory=5)} if anderson else {}
            solver = ott_sinkhorn.Sinkhorn(threshold=TOL, max_iterations=max_iter, inner_iterations=10, **kw)

            @jax.jit
            def solve(a, b, M, reg):
                geom = geometry.Geometry(cost_matrix=M, epsilon=reg)
                o = solver(linear_problem.LinearProblem(geom, a, b))
                return o.matrix, o.n_iters

            def run(a, b, M, reg):
                P, it = solve(a, b, M, reg)
                return np.asarray(P), int(it)
            return run

        out += [("ott-jax Sinkhorn", ott_run(False)), ("ott-jax Sinkhorn + Anderson", ott_run(True))]
    except ImportError:
        missing.append("ott-jax")
    try:
        import regot

        def regot_run(name):
            fn = getattr(regot, name)

            def run(a, b, M, reg):
                r = fn(np.asfortranarray(M), a, b, reg, tol=TOL / 10, max_iter=max_iter)
                return r.plan, int(r.niter)
            return run

        out += [("regot sinkhorn_ssns", regot_run("sinkhorn_ssns")),
                ("regot sinkhorn_sparse_newton", regot_run("sinkhorn_sparse_newton"))]
    except ImportError:
        missing.append("regot")
    return out, missing


def machine() -> str:
    import torch

    from stochflow.core.machine import describe

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return describe("torch", "jax", "numpy") + f"; torch threads {torch.get_num_threads()}; load average at start {load}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n = 500 only")
    parser.add_argument("--ns", type=int, nargs="+", default=None)
    parser.add_argument("--regs", type=float, nargs="+", default=[0.05, 0.01], help="reg as a fraction of mean(M)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-iter", type=int, default=5000)
    parser.add_argument("--only", nargs="*", default=None, help="substrings of method names to run")
    parser.add_argument("--families", nargs="+", choices=FAMILIES, default=list(DEFAULT_FAMILIES),
                        help="problem families (default: 3-D Gaussian clouds and random assignment)")
    parser.add_argument("--digits-side", type=int, default=24, help="digits images upsampled to side x side bins")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks" / "bridge.md")
    parser.add_argument("--part", choices=["all", "ot", "trajectory"], default="all",
                        help="OT solvers, trajectory inference (trajectory.py), or both (default)")
    args = parser.parse_args(argv)
    if args.part == "trajectory":
        return run_trajectory(args)
    import torch

    torch.set_num_threads(1)   # one thread: a fair comparison with numpy/C++ anchors, and no oversubscription
    ns = args.ns or ([500] if args.quick else [500, 2000])
    info = machine()
    methods, missing = runners(args.max_iter)
    if args.only:
        methods = [m for m in methods if any(s in m[0] for s in args.only)]
    rows = []
    for label, a, b, M, frac in problems(ns, args.regs, args.families, digits_side=args.digits_side):
        reg = frac * float(M.mean())
        exact = exact_cost(a, b, M)
        base = None
        for name, fn in methods:
            try:
                if "jax" in name:
                    fn(a, b, M, reg)  # warm-up (JIT compilation)
                times, P, it = [], None, None
                for _ in range(args.repeats):
                    t0 = time.perf_counter()
                    P, it = fn(a, b, M, reg)
                    times.append(time.perf_counter() - t0)
                err = marginal_error(P, a, b)
                sec = statistics.median(times)
                ok = err <= (10 * TOL if name.startswith("POT") else TOL)
                if name == "POT sinkhorn_log":
                    base = (sec, it)
                cerr = "-" if exact is None else f"{cost_error(P, M, exact):.1e}"
                rows.append([label, f"{frac:g}", name, f"{sec:.3f}", str(it), f"{err:.1e}", "yes" if ok else "no",
                             cerr])
            except Exception as exc:  # noqa: BLE001 - reported in the table
                rows.append([label, f"{frac:g}", name, "-", "-", f"{type(exc).__name__}", "error", "-"])
            print(" | ".join(rows[-1]), flush=True)
        # ratios to POT sinkhorn_log within this problem
        for r in rows:
            if r[0] == label and r[1] == f"{frac:g}" and len(r) == 8:
                if base and r[3] != "-":
                    r += [f"{base[0] / float(r[3]):.1f}", f"{base[1] / max(int(r[4]), 1):.1f}"]
                else:
                    r += ["-", "-"]
    write(args, rows, info, missing, ns)
    return run_trajectory(args) if args.part == "all" else 0


def run_trajectory(args) -> int:
    """The trajectory-inference section (``trajectory.py``), written into the same page."""
    sys.path.insert(0, str(Path(__file__).parent))
    import trajectory

    return trajectory.main([*(["--quick"] if args.quick else []), "--out", str(args.out)])


def splice(old: str | None, section: str) -> str:
    """The page with the OT tables in their marked section (:func:`stochflow.core.benchpage.splice`):
    hand-written sections and the trajectory section survive every run."""
    return benchpage.splice(old, section, name="run.py --part ot", title="# stochflow-bridge benchmarks")


def write(args, rows, info, missing, ns) -> None:
    header = ["problem", "reg / mean(M)", "method", "median s", "iterations", "marginal error", "converged",
              "cost error vs emd2", "speed-up vs POT log", "iteration ratio vs POT log"]
    lines = ["# stochflow-bridge benchmarks", "",
             f"Machine: {info}; at the end {', '.join(f'{x:.1f}' for x in os.getloadavg())}. The machine is shared with other jobs, so times carry noise of tens of percent; "
             "iteration counts do not.", "",
             "Reproduce: `python packages/bridge/benchmarks/run.py` (or `nox -s bench -- bridge`); "
             f"this page: `{' '.join(['run.py', *sys.argv[1:]])}`.", "",
             f"Float64; each method stops by its own rule at tol 1e-8 (POT checks one marginal in L2 every 10 "
             f"iterations, ott-jax checks every 10 iterations), capped at {args.max_iter} iterations; the marginal "
             "error ||P1 - a||_1 + ||P^T 1 - b||_1 of every returned plan is then computed the same way, and "
             "'converged' means it is <= 1e-8 (1e-7 for POT). Median wall time of "
             f"{args.repeats} run(s) (JAX-based methods after a warm-up run, so JIT compilation is excluded); "
             "torch on one thread. Iterations: Sinkhorn iterations; for SNS the "
             "warm-up Sinkhorn iterations plus Newton steps; ott-jax counts in blocks of 10. Ratios are POT "
             "`sinkhorn_log` over the method (higher is better). Cost error: `|<P, M> - ot.emd2(a, b, M)| / "
             "ot.emd2` (the entropic bias plus the solver's error).", ""]
    if missing:
        lines += [f"Not installed here (left out): {', '.join(missing)}.", ""]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    # medians of the ratios per method at the smallest reg
    small = min(args.regs)
    lines += ["", f"## Medians over problems at reg = {small:g} mean(M)", "",
              "| method | median speed-up vs POT log | median iteration ratio | converged |", "|---|---|---|---|"]
    for name in dict.fromkeys(r[2] for r in rows):
        sel = [r for r in rows if r[2] == name and r[1] == f"{small:g}" and r[8] != "-"]
        if not sel:
            continue
        sp = statistics.median(float(r[8]) for r in sel)
        itr = statistics.median(float(r[9]) for r in sel)
        conv = sum(r[6] == "yes" for r in sel)
        lines.append(f"| {name} | {sp:.1f} | {itr:.1f} | {conv}/{len(sel)} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    old = args.out.read_text() if args.out.exists() else None
    args.out.write_text(splice(old, "\n".join(lines[2:])))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    sys.exit(main())
