"""Progress bars for anything that trains or iterates for more than a few seconds."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any

QUIET_ENV = "STOCHFLOW_QUIET"


def progress(iterable: Iterable | None = None, *, total: int | None = None, desc: str = "",
             disable: bool | None = None, **kwargs: Any):
    """A tqdm bar, off when ``disable`` is true, when ``STOCHFLOW_QUIET=1``, or when stderr is not a
    terminal (so logs and CI stay clean) unless ``disable=False`` is given explicitly; always off on
    ranks other than 0 of a torch process group (one bar per ``torchrun`` job)."""
    from tqdm.auto import tqdm

    if disable is None:
        disable = os.environ.get(QUIET_ENV, "") not in ("", "0") or not sys.stderr.isatty()
    if not disable and _other_rank():
        disable = True
    return tqdm(iterable, total=total, desc=desc, disable=disable, dynamic_ncols=True, **kwargs)


def _other_rank() -> bool:
    """True on a rank other than 0 of an initialised torch process group (torch is not imported
    here: a process group exists only where torch.distributed already is)."""
    if "torch.distributed" not in sys.modules:
        return False
    from stochflow.core import distributed

    return not distributed.is_main()
