import os

os.environ.setdefault("STOCHFLOW_QUIET", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import torch  # noqa: E402

# small networks: one thread is several times faster than two on a busy shared machine
torch.set_num_threads(1)
