"""``stochflow demo sde``: GBM sample paths and fitted strong orders of Euler, Milstein and SRK."""

from __future__ import annotations

from pathlib import Path

from stochflow.core import DemoResult


def run(out: Path) -> DemoResult:
    """Solve GBM, plot sample paths against the exact solution, fit strong orders; write two PNGs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import torch

    from stochflow.sde import GBM, solve
    from stochflow.sde.convergence import fitted_order, strong_errors

    out = Path(out)
    gbm = GBM(mu=0.5, sigma=0.8)
    ts = torch.linspace(0, 1, 65, dtype=torch.float64)
    ys = solve(gbm, torch.ones(8, 1, dtype=torch.float64), ts, solver="milstein", dt=2**-8, seed=0)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(ts.numpy(), ys[:, :, 0].numpy(), lw=1)
    ax.plot(ts.numpy(), np.exp(gbm.mu * ts.numpy()), "k--", label="E[Y_t]")
    ax.set(xlabel="t", ylabel="Y_t", title="GBM (mu=0.5, sigma=0.8), Milstein, dt=2^-8")
    ax.legend()
    paths = out / "gbm_paths.png"
    fig.savefig(paths, dpi=100, bbox_inches="tight")
    plt.close(fig)

    y0 = torch.ones(2000, 1, dtype=torch.float64)
    fig, ax = plt.subplots(figsize=(6, 4))
    lines, metrics = [], {}
    for solver, theory, style in (("euler", 0.5, "k:"), ("milstein", 1.0, "k--"), ("srk", 1.5, "k-.")):
        dts, errs = strong_errors(gbm, solver, y0, 1.0, list(range(3, 9)), seed=1)
        order = fitted_order(dts, errs)
        metrics[f"strong_order_{solver}"] = order
        lines.append(f"{solver}: fitted strong order {order:.3f} (theory {theory})")
        ax.loglog(dts, errs, "o-", label=f"{solver} (slope {order:.2f})")
        ax.loglog(dts, 0.5 * errs[-1] * (dts / dts[-1]) ** theory, style, label=f"slope {theory}")
    ax.set(xlabel="dt", ylabel="E|Y_N - Y_T|", title="Strong error against the exact GBM solution")
    ax.legend()
    order_png = out / "strong_order.png"
    fig.savefig(order_png, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return DemoResult(lines=tuple(lines), figures=(paths, order_png), metrics=metrics)
