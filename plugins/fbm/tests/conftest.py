import torch

torch.set_num_threads(1)
try:
    import jax
except ImportError:  # the jax backend is optional
    pass
else:
    jax.config.update("jax_enable_x64", True)
