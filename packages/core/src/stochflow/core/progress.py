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
    terminal (so logs and CI stay clean) unless ``disable=False`` is given explicitly."""
    from tqdm.auto import tqdm

    if disable is None:
        disable = os.environ.get(QUIET_ENV, "") not in ("", "0") or not sys.stderr.isatty()
    return tqdm(iterable, total=total, desc=desc, disable=disable, dynamic_ncols=True, **kwargs)
