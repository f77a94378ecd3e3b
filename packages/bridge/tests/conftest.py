import jax
import torch

torch.set_num_threads(1)
jax.config.update("jax_enable_x64", True)
