"""``stochflow demo rl``: learned against true value functions on the OU problem."""

from __future__ import annotations

from pathlib import Path

from stochflow.core.demo import DemoResult


def run(out: Path) -> DemoResult:
    """Fit ML, TD(lambda), LSTD and MSTDE on OU data at two steps and plot them against the truth."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import stochflow.rl as sfr
    from stochflow.rl.plotting import plot_trace, plot_values

    out = Path(out)
    env = sfr.envs.OUQuadratic(kappa=1.0, sigma=0.5, beta=0.5)
    fine = env.rollout(n_paths=500, t_max=10.0, dt=0.01, seed=0)
    x = env.grid(81)
    truth = env.true_value(x)
    feats = sfr.features.Polynomial(degree=2)
    methods = {
        "ML": lambda: sfr.MartingaleLoss(features=feats),
        "TD(0.5)": lambda: sfr.TD(features=feats, lam=0.5, lr=1.0, epochs=3000),
        "LSTD": lambda: sfr.LSTD(features=feats),
        "MSTDE": lambda: sfr.MSTDE(features=feats),
    }
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    lines, metrics = [], {}
    td_fit = None
    for ax, dt, data in ((axes[0], 0.1, fine.subsample(10)), (axes[1], 0.01, fine)):
        curves = {}
        for name, make in methods.items():
            est = make().fit(data)
            curves[name] = est.value(x)
            err = float((curves[name] - truth).norm() / truth.norm())
            metrics[f"{name} dt={dt}"] = err
            lines.append(f"dt={dt:<5} {name:<8} relative L2 error {err:7.2%}")
            if name.startswith("TD") and dt == 0.01:
                td_fit = est
        curves["discrete target"] = env.discrete_value(x, dt)
        plot_values(ax, x, curves, truth, title=f"OU, r = x^2, beta = 0.5: dt = {dt}")
    plot_trace(axes[2], td_fit, names=["1", "x", "x^2"], title="TD(0.5) parameters, dt = 0.01")
    fig.tight_layout()
    path = out / "rl_values.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return DemoResult(lines=tuple(lines), figures=(path,), metrics=metrics)
