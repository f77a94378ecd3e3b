import jax
import torch

jax.config.update("jax_enable_x64", True)
torch.set_num_threads(1)  # two cores shared by several jobs: threads only contend
