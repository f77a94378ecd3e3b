"""Estimator and model bases (scikit-learn / deeptime conventions) and version stamps for saved files."""

from __future__ import annotations

import inspect
from importlib import metadata
from typing import Any

from stochflow.core.errors import InputError, NotFittedError

STAMP_FORMAT = 1


class Estimator:
    """Parameters in ``__init__`` (stored under the same names), work in ``fit(data) -> self``;
    the result is fetched with :meth:`fetch_model`."""

    _model: Any = None

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values()
                if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]

    def get_params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._param_names() if hasattr(self, name)}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    def fit(self, data: Any, **kwargs: Any) -> Estimator:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def has_model(self) -> bool:
        return self._model is not None

    def fetch_model(self) -> Any:
        """The fitted model; :class:`NotFittedError` before ``fit``."""
        if self._model is None:
            raise NotFittedError(f"{type(self).__name__} has no model yet: call .fit(data) first")
        return self._model


def stamp(package: str, obj: Any) -> dict[str, Any]:
    """A version stamp to store beside a saved model: distribution, version, class."""
    try:
        version = metadata.version(package)
    except metadata.PackageNotFoundError:
        version = "unknown"
    cls = obj if isinstance(obj, type) else type(obj)
    return {"package": package, "version": version, "class": f"{cls.__module__}.{cls.__qualname__}",
            "format": STAMP_FORMAT}


def check_stamp(found: Any, package: str, cls: type) -> None:
    """Raise :class:`InputError` if a loaded stamp is missing, from another class or a newer format."""
    if not isinstance(found, dict) or "class" not in found:
        raise InputError(f"not a {package} file: it carries no stochflow version stamp")
    expected = f"{cls.__module__}.{cls.__qualname__}"
    if found["class"] != expected:
        raise InputError(f"this file holds a {found['class']}, not a {expected}")
    if int(found.get("format", 0)) > STAMP_FORMAT:
        raise InputError(f"this file was written by a newer stochflow ({found.get('version')}); upgrade {package}")
