"""k-diffusion's own samplers beside ours: its ``sampling.py`` loaded without the package ``__init__``,
and the VP-SDE score as its EDM denoiser. Shared by ``run.py`` (the benchmark rows) and
``tests/test_parity_kdiffusion.py`` (exact parity), so both call k-diffusion the same way.

Why the loader exists: ``import k_diffusion`` runs the package ``__init__``, which imports every submodule
(models, evaluation, augmentation, ...) and with them torchvision, clean-fid, CLIP and more. No
torchvision build imports beside the pinned CPU torch of this project (PyPI torchvision fails to
import with it), so the benchmark cannot ``import k_diffusion``. The samplers themselves
(``k_diffusion/sampling.py``) need only torch, scipy, torchdiffeq, torchsde, tqdm and
``k_diffusion/utils.py``; the one blocker is utils.py's top-level
``from torchvision.transforms import functional as TF``, used only by its image helpers
(``from_pil_image`` / ``to_pil_image``), never by a sampler.

So :func:`load_sampling` executes the installed files ``utils.py`` and ``sampling.py`` unchanged,
as submodules of a bare package object under a private name (the real ``k_diffusion`` name is left
untouched), and satisfies that single torchvision import with a placeholder module that raises on
any use. The placeholder sits in ``sys.modules`` only while ``utils.py`` executes and is removed
afterwards, so nothing else in the process sees a fake torchvision. No sampler is copied or
reimplemented here: the benchmark rows call k-diffusion's own functions.

Install (``--no-deps``: k-diffusion's declared dependencies include torchvision)::

    pip install --no-deps -c constraints.txt k-diffusion==0.1.1.post1
    pip install -c constraints.txt torchdiffeq torchsde scipy tqdm safetensors Pillow
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
import types
from pathlib import Path

import torch

import stochflow.diffusion as sfd

PACKAGE = "_stochflow_bench_k_diffusion"
INSTALL = ("pip install --no-deps -c constraints.txt k-diffusion==0.1.1.post1 "
           "(and torchdiffeq, torchsde, scipy, tqdm, safetensors, Pillow)")
"""How to install what :func:`load_sampling` needs (the nox tests and bench sessions do this)."""
TORCHVISION = ("torchvision", "torchvision.transforms", "torchvision.transforms.functional")


class _Placeholder(types.ModuleType):
    """A module whose every public attribute raises: proof that nothing uses it."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise RuntimeError(f"{self.__name__}.{name} was used, but torchvision is only a placeholder here "
                           "(see packages/diffusion/benchmarks/kdiffusion_sampling.py)")


def _exec(name: str, path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def load_sampling() -> tuple[types.ModuleType, str]:
    """k-diffusion's ``sampling`` module (its own code) and the installed k-diffusion version.

    Raises
    ------
    ImportError
        If k-diffusion (or a module its ``sampling.py`` needs) is not installed.
    """
    if PACKAGE + ".sampling" in sys.modules:
        return sys.modules[PACKAGE + ".sampling"], importlib.metadata.version("k-diffusion")
    spec = importlib.util.find_spec("k_diffusion")  # locates the package; does not run its __init__
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"k-diffusion is not installed: {INSTALL}")
    folder = Path(list(spec.submodule_search_locations)[0])
    package = types.ModuleType(PACKAGE)
    package.__path__ = [str(folder)]
    sys.modules[PACKAGE] = package
    saved = {name: sys.modules[name] for name in TORCHVISION if name in sys.modules}
    tv, transforms, functional = (_Placeholder(name) for name in TORCHVISION)
    tv.transforms, transforms.functional = transforms, functional
    sys.modules.update(zip(TORCHVISION, (tv, transforms, functional)))
    try:
        try:
            package.utils = _exec(PACKAGE + ".utils", folder / "utils.py")
        finally:
            for name in TORCHVISION:
                sys.modules.pop(name, None)
            sys.modules.update(saved)
        package.sampling = _exec(PACKAGE + ".sampling", folder / "sampling.py")
    except BaseException:
        sys.modules.pop(PACKAGE, None)
        raise
    return package.sampling, importlib.metadata.version("k-diffusion")


def karras_sigmas(sampling: types.ModuleType, n: int, sigma_min: float, sigma_max: float) -> torch.Tensor:
    """k-diffusion's own ``get_sigmas_karras(n, σ̃_min, σ̃_max)`` (ρ = 7, a final 0 appended) in float64.

    It builds the grid in torch's default dtype, which is switched to float64 for the call and restored.
    """
    dtype = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        return sampling.get_sigmas_karras(n, sigma_min, sigma_max)
    finally:
        torch.set_default_dtype(dtype)


def edm_denoiser(score_fn, sde):
    """The VP-SDE score as k-diffusion's denoiser ``D(x̃, σ̃) = E[x₀ | x̃ = x₀ + σ̃ ε]``.

    VE/EDM coordinates of the VP-SDE: x̃ = x_t/α_t = x₀ + σ̃ ε with σ̃ = σ_t/α_t, so λ_t = log α_t/σ_t
    = −log σ̃ and t(σ̃) = λ⁻¹(−log σ̃). The data prediction at the VP point x_t = α_t x̃ is Tweedie's
    x̂₀ = (x_t + σ_t² ∇log p_t(x_t))/α_t = x̃ + σ̃² α_t ∇log p_t(α_t x̃) (stochflow's
    ``from_score(..., "data")``), which is E[x₀ | x̃] since ∇_x̃ log p̃(x̃) = α_t ∇log p_t(α_t x̃).
    """
    data = sfd.from_score(score_fn, "data", sde)

    def denoiser(x, sigma):
        t = sde.schedule.inverse_lambda(-torch.log(sigma))
        a = sde.schedule.alpha(t).reshape(-1, *(1,) * (x.ndim - 1))
        return data(a * x, t)

    return denoiser


class CountedDenoiser:
    """:func:`edm_denoiser` as k-diffusion's model, counting its calls (``calls``)."""

    def __init__(self, score_fn, sde):
        self.denoiser, self.calls = edm_denoiser(score_fn, sde), 0

    def __call__(self, x, sigma):
        self.calls += 1
        return self.denoiser(x, sigma)


def karras_sigma_range(sde):
    """(σ̃_min, σ̃_max) = σ_t/α_t at t = eps and t = T: the range our rows integrate over."""
    t = torch.tensor([sde.eps, sde.T], dtype=torch.float64)
    s = sde.schedule.sigma(t) / sde.schedule.alpha(t)
    return float(s[0]), float(s[1])
