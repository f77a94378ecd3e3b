"""Benchmark: trajectory inference on generated systems, held-out snapshot times.

Each system (Lotka-Volterra, repressilator, 20-gene branching process; :mod:`stochflow.bridge.snapshots`)
is observed at its default times; the even-indexed snapshots are given to each method and the odd ones
are held out. Every method predicts ``n`` cells at each held-out time, scored against the held-out cells by
exact W1 and W2 (optimal assignment) and an RBF-kernel MMD (bandwidths 0.5, 1, 2 x the median pairwise
distance of the held-out cells), averaged over held-out times.

Methods: multi-marginal Schrödinger bridges (ours) with a fixed Brownian reference (diffusion from the
data's nearest-neighbour distances), a Brownian reference with its diffusion refit, and refined
references (linear/OU; the system's own parametric class started from a guess; a neural MLP drift);
torchcfm's OT-CFM and SB-CFM (a time-conditioned MLP velocity trained on consecutive training
snapshots, held-out times predicted by pushing the preceding training snapshot through the learned ODE);
and "previous snapshot" (the preceding training snapshot itself, a floor any method should beat).

    python packages/bridge/benchmarks/trajectory.py            # writes the section of docs/benchmarks/bridge.md
    python packages/bridge/benchmarks/trajectory.py --quick    # fewer cells and CFM steps
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
HEADING = "## Trajectory inference (held-out snapshot times)"


# -- metrics -----------------------------------------------------------------------------------------
def w_p(pred: np.ndarray, true: np.ndarray, p: int) -> float:
    """Exact W_p between two equal-size empirical measures (optimal assignment)."""
    from scipy.optimize import linear_sum_assignment

    D = np.sqrt(((pred[:, None] - true[None]) ** 2).sum(-1))
    r, c = linear_sum_assignment(D**p)
    return float((D[r, c] ** p).mean() ** (1 / p))


def mmd(pred: np.ndarray, true: np.ndarray) -> float:
    """sqrt of the biased MMD^2 with a sum of RBF kernels at 0.5, 1, 2 x the median distance of ``true``."""
    def sq(a, b):
        return ((a[:, None] - b[None]) ** 2).sum(-1)

    med = float(np.median(np.sqrt(sq(true, true))[np.triu_indices(len(true), 1)]))
    k = 0.0
    for s in (0.5 * med, med, 2 * med):
        k = k + np.exp(-sq(pred, pred) / (2 * s * s)).mean() + np.exp(-sq(true, true) / (2 * s * s)).mean() \
            - 2 * np.exp(-sq(pred, true) / (2 * s * s)).mean()
    return float(np.sqrt(max(k, 0.0)))


# -- methods -----------------------------------------------------------------------------------------
def bridge_method(reference, **kw):
    def fit_predict(train, t_train, t_test, n, seed):
        from stochflow.bridge.mmsb import MultiMarginalSB

        ref = reference() if callable(reference) and not isinstance(reference, str) else reference
        sb = MultiMarginalSB(reference=ref, seed=seed, **kw).fit(train, times=t_train)
        return [sb.interpolate(float(t), n=n, seed=seed + 1) for t in t_test], sb
    return fit_predict


def previous_snapshot(train, t_train, t_test, n, seed):
    rng = np.random.default_rng(seed)
    out = []
    for t in t_test:
        x = train[int(np.searchsorted(t_train, t, side="right")) - 1]
        out.append(x[rng.choice(len(x), n, replace=len(x) < n)])
    return out, None


def cfm_method(kind: str, steps: int, sigma: float = 0.1):
    """torchcfm OT-CFM / SB-CFM with a time-conditioned MLP; the ODE is integrated by stochflow.sde (RK4)."""
    def fit_predict(train, t_train, t_test, n, seed):
        import torch
        from torchcfm.conditional_flow_matching import (
            ExactOptimalTransportConditionalFlowMatcher,
            SchrodingerBridgeConditionalFlowMatcher,
        )

        from stochflow.sde import SDE, solve

        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        allx = np.concatenate(train)
        mu, sd = allx.mean(0), allx.std(0).mean()
        Z = [torch.tensor((x - mu) / sd, dtype=torch.float32) for x in train]
        d = allx.shape[1]
        fm = (ExactOptimalTransportConditionalFlowMatcher(sigma=sigma) if kind == "ot"
              else SchrodingerBridgeConditionalFlowMatcher(sigma=sigma))
        net = torch.nn.Sequential(torch.nn.Linear(d + 1, 64), torch.nn.SELU(), torch.nn.Linear(64, 64),
                                  torch.nn.SELU(), torch.nn.Linear(64, 64), torch.nn.SELU(), torch.nn.Linear(64, d))
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        tt = torch.tensor(t_train, dtype=torch.float32)
        bs = 64
        for _ in range(steps):
            xs, ts, us = [], [], []
            for k in range(len(Z) - 1):
                x0 = Z[k][rng.integers(len(Z[k]), size=bs)]
                x1 = Z[k + 1][rng.integers(len(Z[k + 1]), size=bs)]
                s, xt, ut = fm.sample_location_and_conditional_flow(x0, x1)
                h = tt[k + 1] - tt[k]
                xs.append(xt)
                ts.append(tt[k] + s * h)
                us.append(ut / h)
            xt, t, ut = torch.cat(xs), torch.cat(ts), torch.cat(us)
            loss = ((net(torch.cat([xt, t[:, None]], -1)) - ut) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        out = []
        with torch.no_grad():
            ode = SDE(lambda t, x: net(torch.cat([x, torch.full_like(x[:, :1], float(t))], -1)), None)
            for t in t_test:
                k = int(np.searchsorted(t_train, t, side="right")) - 1
                x0 = Z[k][rng.choice(len(Z[k]), n, replace=len(Z[k]) < n)]
                xs = solve(ode, x0, torch.tensor([float(t_train[k]), float(t)]), solver="rk4", dt=0.02)
                out.append(xs[-1].numpy().astype(np.float64) * sd + mu)
        return out, None
    return fit_predict


def systems(n: int):
    from stochflow.bridge.drift_reference import DriftReference, mlp_drift
    from stochflow.bridge.snapshots import branching_snapshots, lotka_volterra_snapshots, repressilator_snapshots
    from stochflow.bridge.systems import LotkaVolterraDrift, RepressilatorDrift

    def lv_ref():
        return DriftReference(LotkaVolterraDrift(0.5, 0.5, 0.5, 0.5), 2, sigma=0.1, noise="multiplicative", dt=0.25,
                              fit_diffusion=True, kind="lotka-volterra")

    def rep_ref():
        return DriftReference(RepressilatorDrift(5.0, 2.0, 2.0, 0.5), 3, sigma=0.1, noise="multiplicative", dt=0.1,
                              fit_diffusion=True, kind="repressilator")

    def neural_ref():
        return DriftReference(mlp_drift(20, hidden=32, depth=1), 20, sigma=0.3, dt=0.25, fit_diffusion=True)

    return [
        ("Lotka-Volterra (d=2)", lambda s: lotka_volterra_snapshots(n_cells=n, seed=s),
         [("SB, Lotka-Volterra reference refined", bridge_method(lv_ref, n_refine=5, warm_start=False))]),
        ("repressilator (d=3)", lambda s: repressilator_snapshots(n_cells=n, seed=s),
         [("SB, repressilator reference refined", bridge_method(rep_ref, n_refine=5, warm_start=False))]),
        ("branching (d=20)", lambda s: branching_snapshots(n_cells=n, dim=20, seed=s),
         [("SB, neural (MLP) reference refined", bridge_method(neural_ref, n_refine=3))]),
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60 cells, 500 CFM steps (default 100 cells, 1000 steps)")
    parser.add_argument("--n", type=int, default=None, help="cells per snapshot (default 100)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--cfm-steps", type=int, default=None)
    parser.add_argument("--systems", nargs="*", default=None, help="substrings of system names to run")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks" / "bridge.md")
    args = parser.parse_args(argv)
    import torch

    from stochflow.bridge.snapshots import read_snapshots
    from stochflow.core.machine import describe

    torch.set_num_threads(1)
    n = args.n or (60 if args.quick else 100)
    steps = args.cfm_steps or (500 if args.quick else 1000)
    common = [("SB, Brownian reference (fixed)", bridge_method("brownian")),
              ("SB, Brownian reference, sigma refit", bridge_method("brownian", fit_diffusion=True, n_refine=5)),
              ("SB, linear (OU) reference refined", bridge_method("linear", n_refine=5))]
    baselines = [("previous training snapshot", previous_snapshot)]
    try:
        import torchcfm  # noqa: F401

        baselines += [("torchcfm OT-CFM", cfm_method("ot", steps)), ("torchcfm SB-CFM", cfm_method("sb", steps))]
        missing = []
    except ImportError:
        missing = ["torchcfm"]
    load = os.getloadavg()
    rows, notes = [], []
    for name, make, own in systems(n):
        if args.systems and not any(x.lower() in name.lower() for x in args.systems):
            continue
        for seed in args.seeds:
            ad = make(seed)
            t, snaps, _ = read_snapshots(ad)
            tr, te = list(range(0, len(t), 2)), list(range(1, len(t), 2))
            train = [snaps[k] for k in tr]
            for label, method in common + own + baselines:
                t0 = time.perf_counter()
                preds, sb = method(train, t[tr], t[te], n, seed)
                sec = time.perf_counter() - t0
                scores = np.array([[w_p(p, snaps[k], 1), w_p(p, snaps[k], 2), mmd(p, snaps[k])]
                                   for p, k in zip(preds, te)]).mean(0)
                rows.append((name, seed, label, *scores, sec))
                print(f"{name} seed {seed} | {label} | W1 {scores[0]:.3f} W2 {scores[1]:.3f} MMD {scores[2]:.3f} "
                      f"| {sec:.1f} s", flush=True)
                if sb is not None and "refined" in label and "linear" not in label and "neural" not in label:
                    p = sb.reference_params
                    truth = ad.uns["truth"]
                    fitted = ", ".join(f"{k} {p[k]:.3f} (true {truth[k]:g})" for k in truth
                                       if k in p and k not in ("sigma", "noise"))
                    notes.append(f"{name}, seed {seed}: fitted {fitted}; sigma {p['sigma']:.3f} "
                                 f"(true {truth['sigma']:g}).")
    write(args, rows, notes, missing, n, steps, load, describe())
    return 0


def write(args, rows, notes, missing, n, steps, load, machine) -> None:
    lines = [HEADING, "",
             f"Machine: {machine}; load average at start {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f} (shared). "
             f"Reproduce: `python packages/bridge/benchmarks/trajectory.py {' '.join(sys.argv[1:])}`.", "",
             f"Each system's default snapshots ({n} cells each; Lotka-Volterra and the repressilator at t = 0, 1, "
             "..., 10, the branching process at t = 0, 0.5, ..., 4); methods see the even-indexed snapshots and "
             "predict the odd ones (held out). Scores are averaged over held-out times (lower is better): exact "
             "W1 and W2 between the predicted and held-out cells, and an RBF-kernel MMD. The refined parametric "
             "references start from a guess (Lotka-Volterra: every parameter 0.5; repressilator: beta 5, n 2, "
             "k 2, gamma 0.5) with sigma refit. CFM baselines: torchcfm conditional flow matching (sigma 0.1 on "
             f"standardised data), a 3x64 SELU MLP of (x, t), {steps} Adam steps of batch 64 per interval, "
             "held-out cells pushed from the preceding training snapshot by RK4. Time: fit and predict, "
             "seconds, torch on one thread.", ""]
    if missing:
        lines += [f"Not installed here (left out): {', '.join(missing)}.", ""]
    lines += ["| system | seed | method | W1 | W2 | MMD | seconds |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r[0]} | {r[1]} | {r[2]} | {r[3]:.3f} | {r[4]:.3f} | {r[5]:.3f} | {r[6]:.1f} |" for r in rows]
    if notes:
        lines += ["", "Fitted parameters of the refined parametric references:", ""]
        lines += [f"- {x}" for x in notes]
    section = "\n".join(lines) + "\n"
    text = args.out.read_text() if args.out.exists() else "# stochflow-bridge benchmarks\n"
    i = text.find(HEADING)
    head = text if i < 0 else text[:i]
    j = -1 if i < 0 else text.find("\n## ", i + len(HEADING))
    tail = "" if j < 0 else text[j + 1:]
    args.out.write_text(head.rstrip("\n") + "\n\n" + section + ("\n" + tail if tail else ""))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    sys.exit(main())
