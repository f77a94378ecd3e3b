"""Which array framework a value belongs to, without importing torch or JAX."""

from __future__ import annotations

from typing import Any


def framework_of(x: Any) -> str:
    """``"torch"``, ``"jax"``, ``"numpy"`` or ``"python"`` for an array-like value."""
    module = type(x).__module__.split(".")[0]
    if module == "torch":
        return "torch"
    if module in ("jax", "jaxlib"):
        return "jax"
    if module == "numpy":
        return "numpy"
    return "python"


def dtype_name(x: Any) -> str:
    """``"float32"``, ``"float64"``... for torch, JAX and numpy arrays alike."""
    return str(getattr(x, "dtype", type(x).__name__)).replace("torch.", "")


def device_of(x: Any) -> str:
    """``"cpu"``, ``"cuda:0"``... (numpy: ``"cpu"``)."""
    fw = framework_of(x)
    if fw == "torch":
        return str(x.device)
    if fw == "jax":
        devices = x.devices() if hasattr(x, "devices") else {x.device}
        dev = next(iter(devices))
        return "cpu" if dev.platform == "cpu" else f"{dev.platform}:{dev.id}"
    return "cpu"
