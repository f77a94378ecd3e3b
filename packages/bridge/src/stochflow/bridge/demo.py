"""``stochflow demo bridge``: SNS vs log-Sinkhorn convergence, and trajectories inferred from snapshots."""

from __future__ import annotations

import time
from pathlib import Path

from stochflow.core import DemoResult


def run(out: Path) -> DemoResult:
    """Two PNGs: marginal error per iteration (SNS vs log-Sinkhorn at a small reg), and a spiral's
    trajectories inferred from even-time snapshots, Brownian reference vs refined reference, with the
    held-out odd-time W2."""
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
    from scipy.linalg import expm
    from scipy.optimize import linear_sum_assignment

    from stochflow.bridge import cost_matrix, sinkhorn
    from stochflow.bridge.mmsb import MultiMarginalSB
    from stochflow.bridge.snapshots import linear_sde_snapshots, read_snapshots

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

    # 2. trajectory inference on a spiral
    adata = linear_sde_snapshots(n_cells=80, seed=0, dt=0.02)
    t, snaps, _ = read_snapshots(adata)
    train, test = list(range(0, len(t), 2)), list(range(1, len(t), 2))

    def w2(p, q):
        C = ((p[:, None] - q[None]) ** 2).sum(-1)
        r, c = linear_sum_assignment(C)
        return float(np.sqrt(C[r, c].mean()))

    fig, axes = plt.subplots(1, 2, figsize=(11, 5), sharex=True, sharey=True)
    for ax, ref in zip(axes, ("brownian", "linear")):
        sb = MultiMarginalSB(reference=ref, sigma=0.3, n_refine=10).fit([snaps[k] for k in train], times=t[train])
        ts, paths = sb.sample_trajectories(25, seed=1)
        held = float(np.mean([w2(sb.interpolate(t[k], n=len(snaps[k]), seed=2), snaps[k]) for k in test]))
        metrics[f"heldout_w2_{ref}"] = held
        for k in range(len(t)):
            ax.scatter(*snaps[k][:, :2].T, s=4, c=[plt.cm.viridis(t[k] / t[-1])], alpha=0.5 if k in train else 0.15)
        ax.plot(paths[:, :, 0], paths[:, :, 1], color="k", lw=0.5, alpha=0.4)
        truth = adata.uns["truth"]
        true_mean = np.stack([expm(truth["B"] * s) @ truth["x0_mean"] for s in ts])
        _, many = sb.sample_trajectories(400, ts=ts, seed=3)
        ax.plot(*true_mean[:, :2].T, "r--", lw=2, label="true mean E[X_t]")
        ax.plot(*many.mean(1)[:, :2].T, "b-", lw=2, label="inferred mean")
        ax.legend(loc="lower left")
        metrics[f"mean_path_error_{ref}"] = float(np.abs(many.mean(1) - true_mean).max())
        ax.set(title=f"{ref} reference: held-out W2 {held:.3f}", xlabel="gene 0", ylabel="gene 1")
        if ref == "linear":
            B = sb.reference_params["B"]
            metrics["drift_error"] = float(np.abs(B - adata.uns["truth"]["B"]).max())
            lines.append(f"refined drift B = {np.array2string(B, precision=3)}, true "
                         f"{np.array2string(adata.uns['truth']['B'], precision=3)} (max error {metrics['drift_error']:.3f})")
    lines.append(f"held-out-time W2: Brownian reference {metrics['heldout_w2_brownian']:.3f}, "
                 f"refined {metrics['heldout_w2_linear']:.3f}; largest error of the mean path "
                 f"{metrics['mean_path_error_brownian']:.3f} vs {metrics['mean_path_error_linear']:.3f}")
    traj = out / "trajectories.png"
    fig.savefig(traj, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return DemoResult(lines=tuple(lines), figures=(conv, traj), metrics=metrics)
