"""stochflow-xva benchmarks -> docs/benchmarks/xva.md

    python packages/xva/benchmarks/run.py [--quick]

1. The three PNAS problems (Han, Jentzen & E, 2018) at d = 100 by the deep BSDE solver: relative
   error and time beside the published errors 0.46% / 0.30% / 0.17% (HJB at λ = 10, reference by
   Monte Carlo of the Cole–Hopf formula).
2. Multi-layer xVA on 5- and 20-asset portfolios of basket options and forwards (no closed form):
   the pipeline (clean values by the deep BSDE along paths) against the same estimators with clean
   values from nested Monte Carlo (inner simulation at every outer path and date), with the speed-up.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("STOCHFLOW_QUIET", "1")

import numpy as np
import torch

from stochflow.xva import (
    CSA,
    BasketOption,
    DeepBSDESolver,
    Forward,
    Market,
    Portfolio,
    Settings,
    StructuralFirm,
    XvaPipeline,
)
from stochflow.xva.nested import NestedMonteCarlo
from stochflow.xva.pnas import PUBLISHED_ERRORS, REFERENCES, allen_cahn, black_scholes_default_risk, hjb, hjb_reference

ROOT = Path(__file__).resolve().parents[3]
OUT = ROOT / "docs" / "benchmarks" / "xva.md"
HJB_LAMBDA = 10.0
# HJB at λ = 10: Z is close to linear in x (≈ 2√2 x / (1 + 2d)), which a tanh network alone fits poorly
# in d = 100; a linear skip connection and a finer grid (the driver λ|Z|²/2 ∝ t is integrated by a left
# Riemann sum) are what brought the error down (see hjb_remedies.py and the page)
HJB_STEPS = 40
HJB_SOLVER = dict(skip=True)


def machine() -> str:
    from stochflow.core.machine import describe

    return describe("torch") + f" (CPU, {torch.get_num_threads()} torch thread; the machine is shared with other jobs)"


def pnas(quick: bool) -> list[dict]:
    iters = 300 if quick else 2000
    rows = []
    ref_hjb, se_hjb = hjb_reference(100, HJB_LAMBDA, 1_000_000 if quick else 10_000_000, seed=0)
    mean_g, _ = hjb_reference(100, 1e-9, 1_000_000, seed=1)  # λ -> 0: E[g]
    problems = [
        ("Black–Scholes with default risk", black_scholes_default_risk(), REFERENCES["black_scholes_default_risk"],
         "PNAS, multilevel Picard", PUBLISHED_ERRORS["black_scholes_default_risk"]),
        ("Allen–Cahn (T = 0.3)", allen_cahn(), REFERENCES["allen_cahn"], "PNAS, branching diffusion",
         PUBLISHED_ERRORS["allen_cahn"]),
        (f"HJB, λ = {HJB_LAMBDA:g}", hjb(lam=HJB_LAMBDA, n_steps=HJB_STEPS), ref_hjb,
         f"Cole–Hopf Monte Carlo ± {se_hjb:.1e}", PUBLISHED_ERRORS["hjb"]),
    ]
    for name, prob, ref, ref_src, published in problems:
        extra = HJB_SOLVER if name.startswith("HJB") else {}
        solver = DeepBSDESolver(iterations=iters, batch_size=256, learning_rate=1e-2, seed=0, dtype="float32",
                                **extra)
        tic = time.perf_counter()
        res = solver.solve(prob)
        seconds = time.perf_counter() - tic
        tail = res.y0_history[-max(1, iters // 10):]
        rows.append(dict(name=name, y0=res.y0, ref=ref, ref_src=ref_src, rel=abs(res.y0 / ref - 1),
                         published=published, seconds=seconds, iters=iters, indicator=res.error_indicator,
                         tail_sd=float(np.std(tail))))
        if name.startswith("HJB"):
            rows[-1]["mean_g"] = mean_g
            rows[-1]["captured"] = (mean_g - res.y0) / (mean_g - ref)
        print(f"{name}: {res.y0:.5g} vs {ref:.5g} ({rows[-1]['rel']:.3%}) in {seconds:.0f} s", flush=True)
    return rows


def xva_case(d: int, quick: bool) -> dict:
    rng = np.random.default_rng(d)
    spot = (100.0 * np.exp(rng.normal(0, 0.1, d))).round(2).tolist()
    vol = rng.uniform(0.15, 0.35, d).round(3).tolist()
    # assets 0.3 among themselves; firms 0.2 with the assets and with each other (positive definite)
    corr = np.full((d + 2, d + 2), 0.2)
    corr[:d, :d] = 0.3
    np.fill_diagonal(corr, 1.0)
    market = Market(rate=0.02, spot=spot, vol=vol, corr=corr,
                    bank=StructuralFirm(100.0, 60.0, 0.25, 0.4), counterparty=StructuralFirm(100.0, 70.0, 0.25, 0.4),
                    borrow_rate=0.04, lend_rate=0.04, collateral_rate=0.01)
    w = np.full(d, 1.0 / d)
    half = np.r_[np.full(d // 2, 2.0 / d), np.zeros(d - d // 2)]
    basket_level = float(w @ spot)
    trades = (BasketOption(maturity=1.0, weights=tuple(w), strike=round(basket_level, 2), kind="call", notional=10.0),
              BasketOption(maturity=1.0, weights=tuple(half), strike=round(float(half @ spot) * 0.95, 2), kind="put",
                           notional=-8.0),
              Forward(maturity=1.0, underlying=0, strike=100.0, notional=2.0),
              Forward(maturity=1.0, underlying=d - 1, strike=100.0, notional=-3.0))
    pf = Portfolio(trades)
    csa = CSA(threshold=5.0, mpor=0.1)
    n_paths = 2000 if quick else 5000
    settings = Settings(n_steps=10, n_paths=n_paths, values="bsde", fva="bsde", measure_change=False, seed=0,
                        dtype="float32", bsde=dict(iterations=300 if quick else 1500, batch_size=256, width=d + 20))
    tic = time.perf_counter()
    deep = XvaPipeline(pf, market, csa, settings).run()
    t_deep = time.perf_counter() - tic
    nested_pipe = NestedMonteCarlo(pf, market, csa, settings, inner=500 if quick else 1000)
    tic = time.perf_counter()
    nested = nested_pipe.run()
    t_nested = time.perf_counter() - tic
    return dict(d=d, deep=deep, nested=nested, t_deep=t_deep, t_nested=t_nested, n_paths=n_paths,
                inner=nested_pipe.inner, iters=settings.bsde["iterations"])


HJB_NOTE = ("A linear skip connection in the `Z` network (`Z*` is close to linear in x along the paths) and "
            f"{HJB_STEPS} steps (the driver's integrand grows linearly in t, a left-point rule misses 1/N of it) "
            "brought the error from 1.40% (plain network, 20 steps) to about 0.46%; the side runs are in "
            "`hjb_remedies.py`.")


def write(pnas_rows, xva_rows, quick: bool, total: float) -> None:
    lines = ["# stochflow-xva benchmarks", "",
             f"Machine: {machine()}.", "",
             "Reproduce: `python packages/xva/benchmarks/run.py` (or `nox -s bench -- xva`); "
             "`--quick` for a smoke run. " + ("**This page was written by a `--quick` run.**" if quick else ""),
             f"Whole run: {total / 60:.1f} min.", "",
             "## Deep BSDE on the PNAS problems (d = 100)", "",
             "Deep BSDE solver: one `Z` network shared across time (time as an input, 2 hidden layers of "
             "d + 10 units, tanh), Adam (learning rate 1e-2, ×0.1 at 60% and 85%), batch 256, float32, "
             f"{pnas_rows[0]['iters'] if pnas_rows else 2000} iterations (Han, Jentzen & E used one network per "
             "step with batch normalisation, batch 64 and 2000–6000 iterations); for HJB a linear skip "
             f"connection in the `Z` network and {HJB_STEPS} time steps (see below). One seed per problem; the "
             "last column is the standard deviation of `Y0` over the last 10% of iterations, a measure of how "
             "settled it is.", "",
             "| problem | Y0 (ours) | reference | rel. error (ours) | rel. error (PNAS) | time | error indicator | "
             "Y0 s.d. (last 10%) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in pnas_rows:
        lines.append(f"| {r['name']} | {r['y0']:.5g} | {r['ref']:.5g} ({r['ref_src']}) | {r['rel']:.2%} | "
                     f"{r['published']:.2%} | {r['seconds']:.0f} s | {r['indicator']:.3g} | {r['tail_sd']:.2g} |")
    hjb_row = next((r for r in pnas_rows if "captured" in r), None)
    if hjb_row is not None:
        lines += ["", f"The HJB problem is run at λ = {HJB_LAMBDA:g} rather than PNAS's λ = 1: at λ = 1 the constant "
                  f"E[g] is already within 0.2% of the answer (so 0.17% says little), at λ = {HJB_LAMBDA:g} "
                  f"E[g] = {hjb_row['mean_g']:.4f} is {hjb_row['mean_g'] / hjb_row['ref'] - 1:.1%} away; our `Y0` "
                  f"covers {hjb_row['captured']:.0%} of that gap. " + HJB_NOTE]
    lines += ["",
              "## Multi-layer xVA against nested Monte Carlo", "",
              "Portfolios of two basket options (no closed form) and two forwards on d correlated assets "
              "(pairwise 0.3), structural bank and counterparty (barriers 60 and 70 on asset values 100, vol 25%, "
              "correlated 0.2 with the assets), VM above a threshold of 5 with a 0.1-year margin period of risk, "
              "symmetric funding at 4% (r = 2%), collateral rate 1%, 10 dates to T = 1. "
              "**Deep**: clean values along paths from the deep BSDE (layer i), then the Monte Carlo layers "
              "and the FVA BSDE (layer iv). **Nested**: the same estimators on the same outer paths with clean "
              "values from an inner Monte Carlo at every path and date; its FVA is the Monte Carlo of "
              "`E Σ e^{-r_f t}(r_f - r)(V - C) Δt 1{t < τ}`, exact for symmetric funding. "
              "Initial margin (and with it MVA) is off here: its nested reference needs inner quantiles.", ""]
    for row in xva_rows:
        deep, nested = row["deep"], row["nested"]
        lines += [f"### d = {row['d']} ({row['n_paths']} outer paths; nested: {row['inner']} inner paths per "
                  f"node; deep BSDE: {row['iters']} iterations)", "",
                  "| metric | deep pipeline | nested MC | difference / combined s.e. |", "|---|---|---|---|"]
        pairs = [("clean value", deep.clean, nested.clean), ("CVA", deep.cva, nested.cva),
                 ("DVA", deep.dva, nested.dva), ("ColVA", deep.colva, nested.colva)]
        for name, a, b in pairs:
            se = math.hypot(a.stderr or 0.0, b.stderr or 0.0)
            z = f"{(a.value - b.value) / se:+.2f}" if se > 0 else "-"
            ci = lambda e: f" ± {1.96 * e.stderr:.3g}" if e.stderr else ""
            lines.append(f"| {name} | {a.value:.5g}{ci(a)} | {b.value:.5g}{ci(b)} | {z} |")
        fva_nested = nested.diagnostics["fva_first_order"]
        se = fva_nested["stderr"]
        lines.append(f"| FVA | {deep.fva.value:.5g} (BSDE) | {fva_nested['value']:.5g} ± {1.96 * se:.3g} | "
                     f"{(deep.fva.value - fva_nested['value']) / se:+.2f} |")
        lines += ["", f"Time: deep pipeline {row['t_deep']:.0f} s (of which BSDE training "
                  f"{deep.diagnostics['seconds']['clean'] + deep.diagnostics['seconds']['fva']:.0f} s), nested Monte "
                  f"Carlo {row['t_nested']:.0f} s without FVA: speed-up ×{row['t_nested'] / row['t_deep']:.1f}. "
                  f"Error indicator of the clean-value BSDE: {deep.diagnostics['clean_bsde']['error_indicator']:.3g}.",
                  ""]
    lines += ["## Notes", "",
              "- Timings are wall-clock on a CPU shared with other jobs; treat them as rough.",
              "- The deep pipeline's clean value is `Y0` of the BSDE; the nested one is the mean of the inner "
              "estimate at t = 0 (no standard error shown for either).",
              "- The ‘difference / combined s.e.’ column uses the Monte Carlo standard errors only; the deep "
              "pipeline's pathwise values also carry the BSDE's approximation error, so values beyond ±3 "
              "point at that error (see the error indicator).",
              "- Speed-up: at these sizes (10 dates, 1000 inner paths, European payoffs whose inner simulation is one exact step) nested Monte Carlo is cheap and the deep pipeline is not faster; its cost does not grow with the inner sample or with the number of dates at which values are needed beyond the BSDE grid, which is where it pays. The issue's speed-up goal is not shown by this page.",
              "- Same outer paths for both columns: their Monte Carlo errors are strongly correlated, so the combined s.e. overstates the noise of the difference; the FVA column is the least accurate: its BSDE runs on the clean-value BSDE's pathwise values (error indicator above).", ""]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines))
    print(f"wrote {OUT}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few iterations and paths (a smoke run)")
    parser.add_argument("--skip-pnas", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    tic = time.perf_counter()
    pnas_rows = [] if args.skip_pnas else pnas(args.quick)
    xva_rows = []
    for d in (5, 20):
        xva_rows.append(xva_case(d, args.quick))
        r = xva_rows[-1]
        print(f"xVA d = {d}: deep {r['t_deep']:.0f} s, nested {r['t_nested']:.0f} s", flush=True)
    write(pnas_rows, xva_rows, args.quick, time.perf_counter() - tic)
    return 0


if __name__ == "__main__":
    sys.exit(main())
