"""Side-by-side sampler benchmark on Gaussian mixtures with exact scores; writes docs/benchmarks/diffusion.md.

    python packages/diffusion/benchmarks/run.py [--quick] [--keep-pf-ode]

Ours (stochflow-diffusion, continuous VP-SDE β ∈ [0.1, 20], t ∈ [1e-3, 1]) against diffusers'
DPMSolverMultistepScheduler / UniPCMultistepScheduler / EulerDiscreteScheduler (their DDPM
discretisation of the same VP schedule, 1000 training steps, linear β from 1e-4 to 0.02), each given
the same analytic mixture as an ε-prediction model in its native interface, and against k-diffusion's
sample_dpmpp_2m / sample_heun / sample_euler, given the same mixture as an EDM denoiser D(x̃, σ̃) on
the Karras σ̃ grid over the range σ̃ = σ_t/α_t of the same VP-SDE (k-diffusion's own sampling code,
loaded without its torchvision-importing package __init__ by kdiffusion_sampling.py).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch
from kdiffusion_sampling import INSTALL, CountedDenoiser, edm_denoiser, karras_sigma_range, karras_sigmas, load_sampling

import stochflow.diffusion as sfd
from stochflow.diffusion.metrics import energy_distance, mmd, mode_weight_tv, sliced_w2
from stochflow.diffusion.testing import GaussianMixture

ROOT = Path(__file__).resolve().parents[3]
OUT = ROOT / "docs" / "benchmarks" / "diffusion.md"


def mixtures():
    """2-D ring, 32-D and 64-D mixtures with near-manifold (small-variance) modes."""
    g = torch.Generator().manual_seed(0)
    out = {}
    ang = torch.arange(8, dtype=torch.float64) * 2 * math.pi / 8
    means = 3 * torch.stack([ang.cos(), ang.sin()], 1)
    out["2-D ring (8 modes, std 0.15)"] = GaussianMixture(1 + torch.arange(8) % 3, means, torch.full((8,), 0.15**2))
    for d in (32, 64):
        K = 6
        means = 2.0 * torch.randn(K, d, generator=g, dtype=torch.float64) / math.sqrt(d) * 3
        covs = []
        for _ in range(K):  # rank-4 dominant subspace plus tiny isotropic variance: near a manifold
            B = torch.randn(d, 4, generator=g, dtype=torch.float64) * 0.4
            covs.append(B @ B.T + 1e-3 * torch.eye(d, dtype=torch.float64))
        w = torch.rand(K, generator=g, dtype=torch.float64) + 0.5
        out[f"{d}-D (6 modes, rank-4 + 1e-3 I)"] = GaussianMixture(w, means, torch.stack(covs))
    return out


def ours(name, steps_per_nfe, grid="logsnr", **options):
    def run(gm, n, nfe, seed):
        sde = sfd.VPSDE()
        steps = max(1, nfe // steps_per_nfe)
        return sfd.sample(gm.score_fn(sde), sde, (n, gm.dim), solver=name, steps=steps, seed=seed,
                          dtype=torch.float64, grid=grid, **options).samples
    return run


def diffusers_run(cls_name, **config):
    def run(gm, n, nfe, seed):
        import diffusers

        cls = getattr(diffusers, cls_name)
        sched = cls(num_train_timesteps=1000, beta_start=1e-4, beta_end=0.02, beta_schedule="linear", **config)
        sched.set_timesteps(nfe)
        acp = sched.alphas_cumprod.to(torch.float64)
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(n, gm.dim, generator=g, dtype=torch.float64) * float(getattr(sched, "init_noise_sigma", 1.0))
        for t in sched.timesteps:
            a = acp[int(t)].sqrt()
            s = (1 - acp[int(t)]).sqrt()
            xin = sched.scale_model_input(x, t)
            eps = -s * gm.score_at(xin, a, s)
            x = sched.step(eps, t, x).prev_sample
        return x
    return run


def check_edm_denoiser():
    """The conversion against the closed form: for one Gaussian N(m, C), E[x₀ | x₀ + σ̃ε = x̃] is
    m + C (C + σ̃² I)⁻¹ (x̃ − m). Raises AssertionError before any k-diffusion row runs if not."""
    g = torch.Generator().manual_seed(7)
    d = 3
    B = torch.randn(d, d, generator=g, dtype=torch.float64)
    C = B @ B.T + 0.05 * torch.eye(d, dtype=torch.float64)
    m = torch.randn(1, d, generator=g, dtype=torch.float64)
    gm, sde = GaussianMixture([1.0], m, C[None]), sfd.VPSDE()
    D = edm_denoiser(gm.score_fn(sde), sde)
    lo, hi = karras_sigma_range(sde)
    for sig in (lo, 0.3, 5.0, hi):
        x = m + sig * torch.randn(4, d, generator=g, dtype=torch.float64) + torch.randn(4, d, generator=g,
                                                                                        dtype=torch.float64)
        want = m + (x - m) @ torch.linalg.solve(C + sig**2 * torch.eye(d, dtype=torch.float64), C)
        got = D(x, torch.full((4,), sig, dtype=torch.float64))
        err = float((got - want).abs().max() / (1 + want.abs().max()))
        assert err < 1e-9, f"EDM denoiser off the Gaussian posterior mean at sigma={sig}: relative error {err:.2e}"
    return True


KDIFFUSION = {}  # filled by main(): "sampling" -> k-diffusion's sampling module, or "error" -> why not


def kdiffusion_run(fn_name):
    """A k-diffusion sampler on the Karras grid; returns (samples, evaluations counted)."""
    def run(gm, n, nfe, seed):
        K = KDIFFUSION["sampling"]
        sde = sfd.VPSDE()
        # k-diffusion evaluates once per step, except Heun (2 per step, 1 on the last step to σ̃ = 0)
        steps = (nfe + 1) // 2 if fn_name == "sample_heun" else nfe
        expected = 2 * steps - 1 if fn_name == "sample_heun" else steps
        sigmas = karras_sigmas(K, steps, *karras_sigma_range(sde))
        model = CountedDenoiser(gm.score_fn(sde), sde)
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(n, gm.dim, generator=g, dtype=torch.float64) * sigmas[0]
        x = getattr(K, fn_name)(model, x, sigmas, disable=True)
        assert model.calls == expected, f"{fn_name}: {model.calls} evaluations, expected {expected}"
        return x, model.calls
    return run


ROWS = [
    ("ours ddim", ours("ddim", 1)),
    ("ours dpm-solver++2m", ours("dpm-solver++2m", 1)),
    ("ours dpm-solver++3m", ours("dpm-solver++3m", 1)),
    ("ours dpm-solver++2m, uniform t", ours("dpm-solver++2m", 1, "uniform")),
    ("ours dpm-solver++3m, uniform t", ours("dpm-solver++3m", 1, "uniform")),
    ("ours unipc (UniPC-2, bh2)", ours("unipc", 1)),
    ("ours unipc (UniPC-3, bh2)", ours("unipc", 1, order=3)),
    ("ours unipc (UniPC-2, bh2), uniform t", ours("unipc", 1, "uniform")),
    ("ours unipc (UniPC-3, bh2), uniform t", ours("unipc", 1, "uniform", order=3)),
    ("ours dpm-solver-2", ours("dpm-solver-2", 2)),
    ("ours heun, Karras grid", ours("heun", 2, "karras")),
    ("diffusers DPMSolverMultistep (2M)", diffusers_run("DPMSolverMultistepScheduler", solver_order=2)),
    ("diffusers UniPCMultistep", diffusers_run("UniPCMultistepScheduler")),
    ("diffusers EulerDiscrete", diffusers_run("EulerDiscreteScheduler")),
    ("k-diffusion sample_dpmpp_2m", kdiffusion_run("sample_dpmpp_2m")),
    ("k-diffusion sample_heun", kdiffusion_run("sample_heun")),
    ("k-diffusion sample_euler", kdiffusion_run("sample_euler")),
]
AT_1000 = ("ours dpm-solver++2m", "diffusers DPMSolverMultistep (2M)", "diffusers EulerDiscrete",
           "k-diffusion sample_dpmpp_2m", "k-diffusion sample_heun", "k-diffusion sample_euler")
# (ours, anchor): the same method on grids that differ only in discretisation and final step
AGREE = (("ours unipc (UniPC-2, bh2), uniform t", "diffusers UniPCMultistep",
          "same method, uniform-in-t grids that differ only in discretisation and final step"),
         ("ours heun, Karras grid", "k-diffusion sample_heun",
          "EDM Heun on Karras ρ = 7 grids; ours uses NFE/2 Heun steps down to σ̃(eps), k-diffusion "
          "⌈NFE/2⌉ σ̃ nodes down to σ̃(eps) and a final Euler step to σ̃ = 0"))
PF_ODE_TOLS = (1e-2, 1e-3, 1e-5)
PF_ODE_ROW = "| ours pf-ode ("


def old_pf_ode_rows(path):
    """The pf-ode rows of each section of an earlier page (for ``--keep-pf-ode``)."""
    rows, section = {}, None
    for line in path.read_text().splitlines() if path.exists() else []:
        if line.startswith("### "):
            section = line[4:].strip()
        elif line.startswith(PF_ODE_ROW):
            rows.setdefault(section, []).append(line)
    return rows


def verdict(ours_w2, anchor_w2, floor_w2):
    """Plain words for ours vs the best anchor at one NFE."""
    if not (math.isfinite(ours_w2) and math.isfinite(anchor_w2)):
        return "no comparison"
    rel = 100 * (ours_w2 - anchor_w2) / anchor_w2
    noise = abs(ours_w2 - anchor_w2) < floor_w2 / 3
    if ours_w2 <= anchor_w2:
        return f"ours at least as accurate ({-rel:.1f}% lower{', within noise' if noise else ''})"
    return f"the anchor is ahead by {rel:.1f}%{' (within noise)' if noise else ''}"


def summary(overview, labels, nfes):
    """The page's opening table: our best against the best anchor per (mixture, NFE), in plain words."""
    out = ["", "### Summary: our best sampler vs the best anchor", "",
           "Sliced W2 of our best row relative to the best anchor row at the same NFE (negative: ours more "
           "accurate); '(noise)' marks a difference under a third of that table's noise floor.", "",
           "| NFE | " + " | ".join(labels) + " |", "|---:|" + "---:|" * len(labels)]
    cells = {}
    for nfe in nfes:
        row = []
        for label in labels:
            o, a, fl = overview.get((label, nfe), (math.nan, math.nan, math.nan))
            if not (math.isfinite(o) and math.isfinite(a)):
                row.append("–")
                continue
            cells[(label, nfe)] = (o <= a, 100 * (o - a) / a, abs(o - a) < fl / 3)
            row.append(f"{100 * (o - a) / a:+.1f}%{' (noise)' if abs(o - a) < fl / 3 else ''}")
        out.append(f"| {nfe} | " + " | ".join(row) + " |")
    behind = {k: v for k, v in cells.items() if not v[0]}
    text = f"Ours is at least as accurate as the best anchor in {len(cells) - len(behind)} of {len(cells)} cells."
    if behind:
        worst = max(v[1] for v in behind.values())
        noise = all(v[2] for v in behind.values())
        where = ", ".join(f"{label.split(' (')[0]} at NFE {nfe}" for label, nfe in behind)
        text += (f" In the other {len(behind)} ({where}) the anchor leads by at most {worst:.1f}%, "
                 + ("each within noise." if noise else "not all within noise."))
    return out + ["", text]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer samples and NFE values (a smoke run)")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--keep-pf-ode", action="store_true",
                    help="do not run the (slow) adaptive pf-ode rows; copy them from the page being replaced")
    args = ap.parse_args(argv)
    kept = old_pf_ode_rows(args.out) if args.keep_pf_ode else {}
    load_start = os.getloadavg()[0]
    torch.set_num_threads(1)
    n = 400 if args.quick else 2000
    nfes = (5, 10) if args.quick else (5, 10, 20, 50, 1000)
    try:
        import diffusers
        dver = diffusers.__version__
    except ImportError:
        dver = None
    check_edm_denoiser()  # the k-diffusion conversion against its closed form, before any row runs
    KDIFFUSION.clear()
    try:
        KDIFFUSION["sampling"], kver = load_sampling()
    except Exception as exc:  # noqa: BLE001 - any failure to load is reported on the page
        kver = None
        KDIFFUSION["error"] = f"{type(exc).__name__}: {exc}"
        print(f"WARNING: k-diffusion rows NOT run: {KDIFFUSION['error']}", file=sys.stderr, flush=True)
    rows = [r for r in ROWS if (dver or not r[0].startswith("diffusers")) and (kver or not r[0].startswith("k-diff"))]
    lines = []
    overview = {}  # (table, NFE) -> (our best, best anchor, noise floor) sliced W2
    start = time.perf_counter()
    for label, gm in mixtures().items():
        ref = gm.sample(n, seed=100)
        floor_x = gm.sample(n, seed=101)
        floor = (sliced_w2(floor_x, ref), energy_distance(floor_x, ref), mmd(floor_x, ref), mode_weight_tv(gm, floor_x))
        lines += [f"\n### {label}\n", "| sampler | NFE | sliced W2 | energy | MMD² | mode TV | s |", "|---|---:|---:|---:|---:|---:|---:|",
                  f"| data vs data (noise floor) | – | {floor[0]:.4f} | {floor[1]:.4f} | {floor[2]:.5f} | {floor[3]:.4f} | – |"]
        best = {}
        for nfe in nfes:
            for name, fn in rows:
                if nfe == 1000 and name not in AT_1000:
                    continue
                t0 = time.perf_counter()
                x = fn(gm, n, nfe, 0)
                sec = time.perf_counter() - t0
                x, used = x if isinstance(x, tuple) else (x, nfe)
                nfe_cell = str(nfe) if used == nfe else f"{nfe} ({used} used)"
                if not torch.isfinite(x).all():
                    lines.append(f"| {name} | {nfe_cell} | non-finite | | | | {sec:.1f} |")
                    continue
                m = (sliced_w2(x, ref), energy_distance(x, ref), mmd(x, ref), mode_weight_tv(gm, x))
                who = "ours" if name.startswith("ours") else "anchor"
                best.setdefault((nfe, who), []).append((m[0], name))
                best[(nfe, name)] = [(m[0], name)]
                lines.append(f"| {name} | {nfe_cell} | {m[0]:.4f} | {m[1]:.4f} | {m[2]:.5f} | {m[3]:.4f} | {sec:.1f} |")
                print(label, name, nfe, [round(v, 4) for v in m], f"{sec:.1f}s", flush=True)
        if args.keep_pf_ode:
            lines += kept.get(label, [])
        for tol in () if args.keep_pf_ode else PF_ODE_TOLS[: 1 if args.quick else None]:
            sde = sfd.VPSDE()
            t0 = time.perf_counter()
            res = sfd.sample(gm.score_fn(sde), sde, (n, gm.dim), solver="pf-ode", rtol=tol, atol=tol, seed=0,
                             dtype=torch.float64)
            sec, x = time.perf_counter() - t0, res.samples
            m = (sliced_w2(x, ref), energy_distance(x, ref), mmd(x, ref), mode_weight_tv(gm, x))
            name = f"ours pf-ode (adaptive dopri5 via stochflow-sde, rtol = atol = {tol:g})"
            lines.append(f"| {name} | {res.nfe} | {m[0]:.4f} | {m[1]:.4f} | {m[2]:.5f} | {m[3]:.4f} | {sec:.1f} |")
            print(label, name, res.nfe, [round(v, 4) for v in m], f"{sec:.1f}s", flush=True)
        lines += ["", "Best sliced W2 per NFE, ours vs the anchors (a difference under a third of the noise floor, "
                  f"{floor[0] / 3:.4f} here, is noise):", ""]
        for nfe in nfes:
            o, a = min(best.get((nfe, "ours"), [(math.nan, "-")])), min(best.get((nfe, "anchor"), [(math.nan, "-")]))
            lines.append(f"- NFE {nfe}: {o[1]} {o[0]:.4f} vs {a[1]} {a[0]:.4f}: {verdict(o[0], a[0], floor[0])}")
            overview[(label, nfe)] = (o[0], a[0], floor[0])
        for mine, theirs, why in AGREE:
            pairs = [(nfe, best[(nfe, mine)][0][0], best[(nfe, theirs)][0][0]) for nfe in nfes
                     if (nfe, mine) in best and (nfe, theirs) in best]
            if pairs:
                lines.append(f"\nSamplers that should agree: {mine} vs {theirs} ({why}): "
                             + "; ".join(f"NFE {k} {o:.4f} vs {a:.4f}" for k, o, a in pairs) + ".")
    total = time.perf_counter() - start
    klo, khi = karras_sigma_range(sfd.VPSDE())
    load_end = os.getloadavg()[0]
    try:
        cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True,
                             text=True).stdout.strip()
    except Exception:  # noqa: BLE001
        cpu = platform.processor()
    head = [
        "# stochflow-diffusion benchmark: samplers against exact Gaussian mixtures",
        "",
        f"Machine: {cpu or platform.machine()}, {torch.get_num_threads()} torch thread, shared 2-core CPU; "
        f"Python {platform.python_version()}, torch {torch.__version__}, diffusers {dver or 'not installed'}, "
        f"k-diffusion {kver or 'NOT LOADED'}. "
        f"float64, {n} samples per row, one seed. Total run time {total:.0f} s (1-minute load average "
        f"{load_start:.1f} at the start and {load_end:.1f} at the end, from other jobs sharing the 2 cores)"
        + (", without the pf-ode rows: those are copied from the previous page, not re-run." if args.keep_pf_ode
           else "."),
        "",
        "Reproduce: `python packages/diffusion/benchmarks/run.py` (or `nox -s bench -- diffusion`); "
        "`--quick` for a smoke run; `--keep-pf-ode` skips the slow adaptive pf-ode rows and copies them from the "
        "page it replaces.",
        "",
        "Every sampler gets the analytic score of the same mixture: ours through `score_fn(x, t)` on the "
        "continuous VP-SDE (β from 0.1 to 20, t from T = 1 down to eps = 1e-3, so ours stop at σ ≈ 0.01 where "
        "the anchors' last step lands on x̂₀); diffusers as an ε-prediction model on its DDPM discretisation "
        "of that schedule (linear β from 1e-4 to 0.02 over 1000 steps, default timestep spacing and "
        "final-step settings); k-diffusion as an EDM denoiser D(x̃, σ̃) = E[x₀ | x̃ = x₀ + σ̃ε] in its VE "
        "parametrisation of the same VP-SDE: x̃ = x_t/α_t, σ̃ = σ_t/α_t, t(σ̃) from λ_t = −log σ̃, and "
        "D(x̃, σ̃) = x̃ + σ̃² α_t ∇log p_t(α_t x̃) (Tweedie; checked against the closed-form posterior mean of a "
        "Gaussian before the rows run). The k-diffusion rows call k-diffusion's own `sample_dpmpp_2m`, "
        "`sample_heun` and `sample_euler` (default arguments, no churn) on `get_sigmas_karras(n, σ̃_min, σ̃_max)` "
        f"(ρ = 7, a final σ̃ = 0 appended), with σ̃_min = {klo:.4f} and σ̃_max = {khi:.1f} the values of σ_t/α_t "
        "at eps and T, i.e. the range our rows cover, and x̃_T = σ̃_max · N(0, I) as k-diffusion users start. "
        "Their NFE is counted as k-diffusion evaluates (and checked by counting the calls): DPM-Solver++(2M) and "
        "Euler 1 per σ̃ node, so n = NFE nodes; Heun 2 per step except the last step to σ̃ = 0 (Euler), so "
        "2n − 1 evaluations with n = ⌈NFE/2⌉ nodes: one fewer than the column's NFE at even NFE, shown as "
        "e.g. '10 (9 used)'. k-diffusion's package `__init__` imports torchvision, which no build pairs with the pinned "
        "CPU torch, so the benchmark loads the installed `k_diffusion/sampling.py` and `utils.py` unchanged "
        "without that `__init__`, with an empty placeholder for the one torchvision import of utils.py "
        "(used only by its image helpers, never by a sampler; `benchmarks/kdiffusion_sampling.py`). "
        "Ours use the log-SNR grid unless a row names another; our Heun uses 2 evaluations per step, so NFE/2 steps, and our DPM-Solver-2 likewise. "
        "UniPC rows use UniP-p with the corrector UniC (1 evaluation per step, order p + 1) and B(h) = e^h − 1 as "
        "diffusers' default. "
        "Metrics against an independent exact sample of the same size: sliced W2 (256 directions), energy "
        "distance, Gaussian-kernel MMD² (median bandwidth), total variation of mode weights (samples "
        "assigned to their most probable component). The data-vs-data row is the noise floor for this "
        "sample size (one draw; differences below about a third of it are noise). At NFE 1000 only "
        "ours dpm-solver++2m and the anchors' rows run (time budget). A 'non-finite' entry means the sampler returned NaN or inf. The last rows of each "
        "table integrate the probability-flow ODE by stochflow-sde's adaptive Dormand–Prince 5(4) "
        "(`solver=\"pf-ode\"`); their NFE is what the step-size controller used, rejected steps included, "
        "and they are not part of the per-NFE summary. The summary under each table takes the best of our rows "
        "against the best of the anchors' rows at each NFE; with one seed, the minimum over more rows (ours) is "
        "favoured by noise alone, so only a difference above a third of the noise floor ranks two samplers.",
    ]
    if "error" in KDIFFUSION:
        head += ["", f"**WARNING: the k-diffusion rows (`sample_dpmpp_2m`, `sample_heun`, `sample_euler`) are "
                 f"MISSING from this run: k-diffusion's sampling module could not be loaded "
                 f"({KDIFFUSION['error']}). Install it, `{INSTALL}`, and rerun.**"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(head + summary(overview, list(mixtures()), nfes) + lines) + "\n")
    print(f"wrote {args.out} in {total:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
