import warnings

import torch

torch.set_num_threads(1)  # the machine is shared; intra-op threads only add contention here
warnings.filterwarnings("ignore", message="The hashes produced for graphs", category=UserWarning)
