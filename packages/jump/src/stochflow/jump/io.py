"""Reading and writing observations as tables (CSV, or Parquet with pandas + pyarrow).

The layout: one row per observation, with columns

============  ==================================================================
``path``      path identifier (any integer or string; rows of a path sorted by time)
``time``      observation time, ``>= 0``
``state``     observed state label, an integer in ``0 .. n_states - 1``
============  ==================================================================

Other columns are ignored. Column names can be changed with ``columns=(path, time, state)``.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from stochflow.core.errors import InputError, InputTypeError
from stochflow.jump.observations import Observations

COLUMNS = ("path", "time", "state")


def _read_table(path: Path, columns: tuple[str, str, str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            import pandas as pd

            frame = pd.read_parquet(path)
        except ImportError as exc:
            raise InputError(f"reading Parquet needs pandas and pyarrow: pip install pandas pyarrow ({exc})") from exc
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise InputError(f"{path} lacks the column(s) {missing}; it has {list(frame.columns)}")
        return tuple(frame[c].to_numpy() for c in columns)  # type: ignore[return-value]
    with open(path, newline="") as fh:
        reader = csv.reader(fh)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise InputError(f"{path} is empty; expected a header row {','.join(columns)}") from None
        missing = [c for c in columns if c not in header]
        if missing:
            raise InputError(f"{path} lacks the column(s) {missing} in its header {header}; expected "
                             f"{','.join(columns)} (or pass columns=...)")
        idx = [header.index(c) for c in columns]
        rows = [[row[i].strip() for i in idx] for row in reader if row and any(cell.strip() for cell in row)]
    if not rows:
        raise InputError(f"{path} has a header but no observations")
    pid = np.array([r[0] for r in rows])
    try:
        time = np.array([float(r[1]) for r in rows])
        state_f = np.array([float(r[2]) for r in rows])
    except ValueError as exc:
        raise InputError(f"{path}: time and state must be numbers ({exc})") from exc
    return pid, time, state_f


def read_observations(path: str | Path, *, n_states: int | None = None, t_max: float | None = None,
                      columns: tuple[str, str, str] = COLUMNS) -> Observations:
    """Read a CSV or Parquet file of observations (layout in the module docstring)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"no such file: {path}")
    if len(columns) != 3:
        raise InputTypeError("columns must name (path, time, state)")
    pid, time, state = _read_table(path, tuple(columns))
    return Observations.from_records(pid, time, state, n_states=n_states, t_max=t_max)


def write_observations(observations: Any, path: str | Path) -> Path:
    """Write observations as CSV (or Parquet for a ``.parquet`` suffix), one row per observation."""
    if not isinstance(observations, Observations):
        raise InputTypeError(f"write_observations needs Observations, got {type(observations).__name__}")
    path = Path(path)
    pid, time, state = observations.to_records()
    if path.suffix.lower() in (".parquet", ".pq"):
        import pandas as pd

        pd.DataFrame({"path": pid, "time": time, "state": state}).to_parquet(path)
        return path
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for row in zip(pid.tolist(), time.tolist(), state.tolist()):
            w.writerow([row[0], repr(float(row[1])), int(row[2])])
    return path
