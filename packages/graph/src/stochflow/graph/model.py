"""A trained GDSS model: two ε-networks, the joint SDE, the prior moments and the training node
counts; it samples graphs and saves/loads itself with a version stamp."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from stochflow.core.errors import InputError
from stochflow.core.estimator import check_stamp, stamp
from stochflow.diffusion.sde import VESDE, VPSDE, DiffusionSDE, SubVPSDE
from stochflow.graph.nets import ScoreNetworkA, ScoreNetworkX
from stochflow.graph.sampling import GraphSample, node_masks, sample, sample_node_counts
from stochflow.graph.sde import GraphPrior, GraphSDE

_SDES = {"VPSDE": VPSDE, "SubVPSDE": SubVPSDE, "VESDE": VESDE}
_NETS = {"ScoreNetworkX": ScoreNetworkX, "ScoreNetworkA": ScoreNetworkA}


def sde_to_dict(s: DiffusionSDE) -> dict:
    name = type(s).__name__
    if name not in _SDES:
        raise InputError(f"cannot save a {name}; supported SDEs: {', '.join(_SDES)}")
    params = {k: v for k, v in vars(s.schedule).items() if not k.startswith("_")}
    return {"class": name, **params, "T": s.T, "eps": s.eps}


def sde_from_dict(d: dict) -> DiffusionSDE:
    d = dict(d)
    return _SDES[d.pop("class")](**d)


def net_config(net: nn.Module) -> dict:
    """Constructor arguments of a score network (kept by the networks themselves)."""
    return {"class": type(net).__name__, **net.config}


class GraphScoreModel(nn.Module):
    """The joint score ``(X, A, mask, t) -> (∇_X log p_t, ∇_A log p_t) = (−ε̂_X/σ^X_t, −ε̂_A/σ^A_t)``.

    Parameters
    ----------
    net_x, net_a
        ε-networks of the node features and of the adjacency.
    sde
        The :class:`GraphSDE`.
    prior
        The :class:`GraphPrior` fitted on the training graphs.
    node_counts
        Node counts of the training graphs (sampling draws from them).
    max_nodes
        Node budget ``N``.
    features
        How node features were built (``{"kind": "degree", "n_features": F}``), for the record.
    """

    def __init__(self, net_x: nn.Module, net_a: nn.Module, sde: GraphSDE, prior: GraphPrior,
                 node_counts, max_nodes: int, features: dict | None = None):
        super().__init__()
        self.net_x, self.net_a, self.sde, self.prior = net_x, net_a, sde, prior
        self.node_counts = [int(c) for c in torch.as_tensor(node_counts).reshape(-1).tolist()]
        self.max_nodes = int(max_nodes)
        self.features = dict(features or {})

    def forward(self, X, A, mask, t):
        _, sx = self.sde.coefficients("x", t)
        _, sa = self.sde.coefficients("a", t)
        return -self.net_x(X, A, mask, t) / sx[:, None, None], -self.net_a(X, A, mask, t) / sa[:, None, None]

    @torch.no_grad()
    def sample(self, n: int, *, solver: str = "graph-pc", steps: int = 1000, seed: int = 0,
               node_counts=None, **options) -> GraphSample:
        """Draw ``n`` graphs: node counts from the training distribution (or ``node_counts``), then
        the reverse SDE from the prior. Same seed, same graphs."""
        p = next(self.parameters())
        gen = torch.Generator(device=p.device).manual_seed(int(seed))
        if node_counts is None:
            counts = sample_node_counts(self.node_counts, n, generator=torch.Generator().manual_seed(int(seed)))
        else:
            counts = torch.as_tensor(node_counts, dtype=torch.long)
            if counts.numel() != n:
                raise InputError(f"node_counts has {counts.numel()} entries for n={n} graphs")
        mask = node_masks(counts.to(p.device), self.max_nodes)
        was = self.training
        self.eval()
        try:
            return sample(self, self.sde, mask, self.prior, solver=solver, steps=steps, generator=gen,
                          dtype=p.dtype, **options)
        finally:
            self.train(was)

    # -- persistence ----------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the model (weights, configuration, prior, node counts, version stamp) with ``torch.save``."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"stamp": stamp("stochflow-graph", self), "net_x": net_config(self.net_x),
                    "net_a": net_config(self.net_a), "state": self.state_dict(),
                    "sde": {"x": sde_to_dict(self.sde.x), "a": sde_to_dict(self.sde.a)},
                    "prior": self.prior.to_dict(), "node_counts": self.node_counts, "max_nodes": self.max_nodes,
                    "features": self.features, "dtype": str(next(self.parameters()).dtype)}, path)
        return path

    @classmethod
    def load(cls, path: str | Path, map_location="cpu") -> GraphScoreModel:
        """Read a model written by :meth:`save`."""
        path = Path(path)
        if path.is_dir():
            path = path / "model.pt"
        if not path.is_file():
            raise InputError(f"no saved graph model at {path}: train one first (stochflow graph train)")
        d = torch.load(path, map_location=map_location, weights_only=False)
        check_stamp(d.get("stamp"), "stochflow-graph", cls)
        nets = []
        for key in ("net_x", "net_a"):
            cfg = dict(d[key])
            nets.append(_NETS[cfg.pop("class")](**cfg))
        sde = GraphSDE(sde_from_dict(d["sde"]["x"]), sde_from_dict(d["sde"]["a"]))
        model = cls(nets[0], nets[1], sde, GraphPrior.from_dict(d["prior"]), d["node_counts"], d["max_nodes"],
                    d["features"])
        model.to(getattr(torch, d["dtype"].replace("torch.", "")))
        model.load_state_dict(d["state"])
        return model.to(map_location)
