"""``stochflow demo fbm``: sample paths for two Hurst indices and the covariance error against K."""

from __future__ import annotations

from pathlib import Path

from stochflow.core import DemoResult


def run(out: Path) -> DemoResult:
    """Plot Markov-fBM paths (H = 0.3, 0.7) and the sup covariance error for K = 2..32 terms."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from stochflow_fbm import MarkovFBM

    out = Path(out)
    ts = np.linspace(0.0, 1.0, 257)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, h in zip(axes, (0.3, 0.7)):
        paths = MarkovFBM(hurst=h, n_terms=16).sample(ts, n_paths=5, seed=0).numpy()
        ax.plot(ts, paths, lw=1)
        ax.set(title=f"Markov-approximate fBM, H = {h}, K = 16", xlabel="t")
    paths_png = out / "fbm_paths.png"
    fig.savefig(paths_png, dpi=100, bbox_inches="tight")
    plt.close(fig)

    grid = np.linspace(0.0, 1.0, 41)
    s, t = np.meshgrid(grid, grid)
    terms = [2, 4, 8, 16, 32]
    fig, ax = plt.subplots(figsize=(6, 4))
    lines, metrics = [], {}
    for h in (0.3, 0.5, 0.7):
        errs = []
        for k in terms:
            fbm = MarkovFBM(hurst=h, n_terms=k)
            errs.append(float(np.abs(fbm.covariance(s, t) - fbm.exact_covariance(s, t)).max()))
        metrics[f"cov_error_H{h}_K16"] = errs[3]
        lines.append(f"H={h}: sup covariance error " + ", ".join(f"K={k}: {e:.1e}" for k, e in zip(terms, errs)))
        ax.semilogy(terms, np.maximum(errs, 1e-16), "o-", label=f"H = {h}")
    ax.set(xlabel="number of OU terms K", ylabel="sup |cov - fBM cov| on [0, 1]²", xscale="log")
    ax.legend()
    err_png = out / "fbm_covariance_error.png"
    fig.savefig(err_png, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return DemoResult(lines=tuple(lines), figures=(paths_png, err_png), metrics=metrics)
