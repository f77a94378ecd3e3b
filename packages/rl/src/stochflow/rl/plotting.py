"""Plots: learned against true value functions, and trace plots of iterative estimators."""

from __future__ import annotations

from typing import Any

import torch

from stochflow.core.errors import InputError


def plot_values(ax: Any, x: torch.Tensor, curves: dict[str, torch.Tensor], truth: torch.Tensor | None = None,
                title: str = "") -> Any:
    """Draw value functions ``curves`` (name -> values on ``x``) and the true one on a matplotlib axis."""
    xs = x.detach().cpu().numpy()
    if truth is not None:
        ax.plot(xs, truth.detach().cpu().numpy(), "k-", lw=3, alpha=0.35, label="true")
    for name, v in curves.items():
        ax.plot(xs, v.detach().cpu().numpy(), lw=1.4, label=name)
    ax.set_xlabel("x")
    ax.set_ylabel("value")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return ax


def plot_trace(ax: Any, estimator: Any, names: list[str] | None = None, title: str = "") -> Any:
    """Parameters (or the training loss, for a network) of a fitted iterative estimator against the
    iteration, from its ``history_``."""
    hist = getattr(estimator, "history_", None)
    if hist is None:
        raise InputError(f"{type(estimator).__name__} has no history_: fit an iterative estimator (TD, GTD) first")
    h = hist.detach().cpu().numpy()
    h = h.reshape(h.shape[0], -1)
    for j in range(h.shape[1]):
        ax.plot(h[:, j], label=names[j] if names and j < len(names) else f"theta[{j}]")
    ax.set_xlabel("iteration")
    ax.set_title(title or f"{type(estimator).__name__} trace")
    ax.legend(fontsize=8)
    return ax
