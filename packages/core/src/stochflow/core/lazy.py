"""Lazy exports for package ``__init__`` modules: public names imported on first use, so that the
registry (which imports a package's ``_plugin`` module, and so its ``__init__``) never pulls in torch
or jax.

>>> # in stochflow/<pkg>/__init__.py
>>> # __all__, __getattr__, __dir__ = lazy_exports(__name__, {"solve": "solve", "GBM": "processes"})
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def lazy_exports(package: str, where: Mapping[str, str], modules: Iterable[str] = (),
                 ) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """``(__all__, __getattr__, __dir__)`` for a package whose names live in its submodules.

    Parameters
    ----------
    package
        The package's ``__name__``.
    where
        Public name -> submodule (relative to ``package``) that defines it.
    modules
        Submodules exposed as attributes themselves (``pkg.metrics``).
    """
    modules = tuple(modules)
    names = sorted({*where, *modules})
    namespace = importlib.import_module(package).__dict__

    def __getattr__(name: str) -> Any:
        if name in modules:
            return importlib.import_module(f"{package}.{name}")
        if name in where:
            value = getattr(importlib.import_module(f"{package}.{where[name]}"), name)
            namespace[name] = value  # later lookups skip this hook
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return names

    return names, __getattr__, __dir__
