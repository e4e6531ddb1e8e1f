"""Optimizers and gradient clipping.

An optimizer is built on a model's ``params`` dict and updates those arrays *in place*::

    opt = Adam(model.params, lr=1e-3)
    loss, dlogits = softmax_cross_entropy(model.forward(x), y)
    model.backward(dlogits)
    clip_grad_norm(model.grads, max_norm=5.0)
    opt.step(model.grads)
"""

from __future__ import annotations

import numpy as np


class Optimizer:
    def __init__(self, params: dict, lr: float):
        if not lr > 0:
            raise ValueError(f"learning rate must be positive, got {lr}")
        self.params = dict(params)  # name -> the layer's own array
        self.lr = lr

    def step(self, grads: dict) -> None:
        """Update every parameter from its gradient; nothing is updated if any gradient is wrong."""
        missing = self.params.keys() - grads.keys()
        if missing:
            raise ValueError(f"{type(self).__name__}.step: no gradient for {sorted(missing)}")
        for name, p in self.params.items():
            if grads[name].shape != p.shape:
                raise ValueError(f"{type(self).__name__}.step: gradient of {name!r} "
                                 f"has shape {grads[name].shape}, expected {p.shape}")
        self._begin_step()
        for name, p in self.params.items():
            self._update(name, p, grads[name])

    def _begin_step(self) -> None:
        """Per-step bookkeeping before the updates (Adam counts its steps here)."""

    def _update(self, name, p, g):
        raise NotImplementedError


class SGD(Optimizer):
    """``v = momentum * v + g;  p -= lr * v`` (PyTorch's convention; ``momentum=0`` is plain SGD)."""

    def __init__(self, params: dict, lr: float = 0.01, momentum: float = 0.0):
        super().__init__(params, lr)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.momentum = momentum
        self.velocity = {k: np.zeros_like(p) for k, p in self.params.items()}

    def _update(self, name, p, g):
        if self.momentum:
            v = self.velocity[name]
            v *= self.momentum
            v += g
            g = v
        p -= self.lr * g


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015) with bias correction, as ``torch.optim.Adam`` without weight decay."""

    def __init__(self, params: dict, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8):
        super().__init__(params, lr)
        if not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"Adam betas must be in [0, 1), got {betas}")
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.t = 0
        self.m = {k: np.zeros_like(p) for k, p in self.params.items()}
        self.v = {k: np.zeros_like(p) for k, p in self.params.items()}

    def _begin_step(self) -> None:
        self.t += 1

    def _update(self, name, p, g):
        m, v = self.m[name], self.v[name]
        m *= self.beta1
        m += (1 - self.beta1) * g
        v *= self.beta2
        v += (1 - self.beta2) * g * g
        m_hat = m / (1 - self.beta1 ** self.t)
        v_hat = v / (1 - self.beta2 ** self.t)
        p -= (self.lr * m_hat / (np.sqrt(v_hat) + self.eps)).astype(p.dtype, copy=False)


def clip_grad_norm(grads: dict, max_norm: float) -> float:
    """Scale every gradient by the same factor so that their joint L2 norm is at most ``max_norm``.

    Scales in place and returns the norm *before* clipping (worth logging: spikes show up there).
    """
    if not max_norm > 0:
        raise ValueError(f"max_norm must be positive, got {max_norm}")
    total = float(np.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads.values())))
    if not np.isfinite(total):
        raise FloatingPointError(f"gradient norm is {total}: training has diverged")
    if total > max_norm:
        scale = max_norm / (total + 1e-12)
        for g in grads.values():
            g *= scale
    return total
