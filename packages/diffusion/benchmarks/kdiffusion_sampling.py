"""Load k-diffusion's own ``k_diffusion/sampling.py`` without its package ``__init__``.

Why this exists: ``import k_diffusion`` runs the package ``__init__``, which imports every submodule
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

PACKAGE = "_stochflow_bench_k_diffusion"
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
        raise ImportError("k-diffusion is not installed: pip install --no-deps -c constraints.txt "
                          "k-diffusion==0.1.1.post1 (and torchdiffeq, torchsde, scipy, tqdm, safetensors, Pillow)")
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
