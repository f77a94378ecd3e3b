"""``stochflow demo bridge``: SNS vs log-Sinkhorn convergence, and trajectories inferred from snapshots."""

from __future__ import annotations

import time
from pathlib import Path

from stochflow.core import DemoResult


def run(out: Path) -> DemoResult:
    """Two PNGs: marginal error per iteration (SNS vs log-Sinkhorn at a small reg), and Lotka-Volterra
    trajectories inferred from even-time snapshots (refined Lotka-Volterra reference) against the true
    SDE, with the held-out odd-time W2 of a Brownian and of the refined reference."""
    import matplotlib

    matplotlib.use("Agg")
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)   # small problems: one thread avoids oversubscription on busy machines
    try:
        return _run(Path(out))
    finally:
        torch.set_num_threads(threads)


def _run(out: Path) -> DemoResult:
    import matplotlib.pyplot as plt
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    from stochflow.bridge import cost_matrix, sinkhorn
    from stochflow.bridge.mmsb import MultiMarginalSB
    from stochflow.bridge.snapshots import read_snapshots

    lines, metrics = [], {}

    # 1. OT convergence
    rng = np.random.default_rng(0)
    n = 200
    x, y = rng.normal(size=(n, 3)), 0.7 * rng.normal(size=(n, 3)) + 1.0
    M = cost_matrix(x, y)
    reg = 0.01 * float(M.mean())
    fig, ax = plt.subplots(figsize=(6, 4))
    for method, cap in (("sns", 300), ("log", 2000)):
        t0 = time.perf_counter()
        o = sinkhorn(None, None, M, reg, method=method, tol=1e-10, max_iter=cap)
        sec = time.perf_counter() - t0
        h = np.asarray(o.history)
        ax.semilogy(np.arange(1, len(h) + 1), h, label=f"{method}: {o.n_iter} it, {sec:.2f} s")
        metrics[f"ot_{method}_iterations"], metrics[f"ot_{method}_seconds"] = o.n_iter, sec
        lines.append(f"OT n={n}, reg=0.01 mean(M): {method} {o.n_iter} iterations, {sec:.2f} s, "
                     f"marginal error {float(o.marginal_error):.1e}{'' if o.converged else ' (not converged)'}")
    ax.axhline(1e-10, color="k", ls=":", lw=1)
    ax.set(xlabel="iteration", ylabel="||P1 - a||_1 + ||P^T1 - b||_1", xscale="log",
           title="Sinkhorn-Newton-Sparse vs log-domain Sinkhorn")
    ax.legend()
    conv = out / "ot_convergence.png"
    fig.savefig(conv, dpi=100, bbox_inches="tight")
    plt.close(fig)

    # 2. trajectory inference on Lotka-Volterra (even snapshots seen, odd ones held out)
    import torch

    from stochflow.bridge.drift_reference import DriftReference
    from stochflow.bridge.snapshots import lotka_volterra_snapshots
    from stochflow.bridge.systems import LotkaVolterraDrift
    from stochflow.sde import SDE, solve

    adata = lotka_volterra_snapshots(n_cells=60, seed=0)
    truth = adata.uns["truth"]
    t, snaps, _ = read_snapshots(adata)
    train, test = list(range(0, len(t), 2)), list(range(1, len(t), 2))

    def w2(p, q):
        C = ((p[:, None] - q[None]) ** 2).sum(-1)
        r, c = linear_sum_assignment(C)
        return float(np.sqrt(C[r, c].mean()))

    guess = LotkaVolterraDrift(0.5, 0.5, 0.5, 0.5)
    refs = {"brownian": "brownian",
            "lotka-volterra": DriftReference(guess, 2, sigma=0.1, noise="multiplicative", dt=0.25,
                                             fit_diffusion=True, kind="lotka-volterra")}
    fits = {name: MultiMarginalSB(reference=ref, n_refine=4, warm_start=False).fit([snaps[k] for k in train],
                                                                                     times=t[train])
            for name, ref in refs.items()}
    ts = np.linspace(0.0, 10.0, 51)
    true_drift = LotkaVolterraDrift(truth["alpha"], truth["beta"], truth["gamma"], truth["delta"])
    fig, axes = plt.subplots(1, 3, figsize=(17, 5))
    for k in range(len(t)):
        axes[0].scatter(*snaps[k].T, s=4, c=[plt.cm.viridis(t[k] / t[-1])], alpha=0.5 if k in train else 0.15)
    for name, sb in fits.items():
        held = float(np.mean([w2(sb.interpolate(t[k], n=len(snaps[k]), seed=2), snaps[k]) for k in test]))
        metrics[f"heldout_w2_{name}"] = held
        _, paths = sb.sample_trajectories(200, ts=ts, seed=1)
        if name == "lotka-volterra":
            axes[0].plot(paths[:, :8, 0], paths[:, :8, 1], color="k", lw=0.6, alpha=0.6)
            # the truth from the same starting cells: the true SDE simulated forward
            sde = SDE(lambda s, y: true_drift(y), lambda s, y: truth["sigma"] * y, noise="diagonal")
            with torch.no_grad():
                real = solve(sde, torch.as_tensor(paths[0, :8], dtype=torch.float64), torch.as_tensor(ts),
                             dt=0.01, seed=3).numpy()
            axes[0].plot(real[:, :, 0], real[:, :, 1], "r--", lw=0.8, alpha=0.7)
            axes[0].plot([], [], "k-", label="inferred (refined Lotka-Volterra reference)")
            axes[0].plot([], [], "r--", label="true SDE from the same cells")
            p = sb.reference_params
            fitted = {k: p[k] for k in ("alpha", "beta", "gamma", "delta")}
            metrics.update({f"fitted_{k}": v for k, v in fitted.items()})
            lines.append("refined Lotka-Volterra parameters " + ", ".join(
                f"{k} {v:.3f} (true {truth[k]:g})" for k, v in fitted.items()) + f", sigma {p['sigma']:.3f}")
        for j in range(2):
            ax = axes[1 + j]
            m, sd = paths[:, :, j].mean(1), paths[:, :, j].std(1)
            ax.plot(ts, m, label=f"{name} reference (held-out W2 {held:.3f})")
            ax.fill_between(ts, m - sd, m + sd, alpha=0.15)
    for j, gene in enumerate(("prey", "predator")):
        ax = axes[1 + j]
        ax.errorbar(t[test], [snaps[k][:, j].mean() for k in test], [snaps[k][:, j].std() for k in test], fmt="ko",
                    label="held-out snapshots (mean, sd)")
        ax.plot(t[train], [snaps[k][:, j].mean() for k in train], "ks", mfc="none", label="training snapshots")
        ax.set(xlabel="time", ylabel=gene, title=f"{gene}: inferred mean +- sd")
        ax.legend(fontsize=7)
    axes[0].set(xlabel="prey", ylabel="predator", title="Lotka-Volterra trajectories (faint dots: held out)")
    axes[0].legend(loc="upper right", fontsize=7)
    lines.append(f"held-out-time W2: Brownian reference {metrics['heldout_w2_brownian']:.3f}, "
                 f"refined Lotka-Volterra {metrics['heldout_w2_lotka-volterra']:.3f}")
    traj = out / "trajectories.png"
    fig.savefig(traj, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return DemoResult(lines=tuple(lines), figures=(conv, traj), metrics=metrics)
