"""Optimizers and gradient clipping.

An optimizer is built on a model's ``params`` dict and updates those arrays *in place*::

    opt = Adam(model.params, lr=1e-3)
    loss, dlogits = softmax_cross_entropy(model.forward(x), y)
    model.backward(dlogits)
    clip_grad_norm(model.grads, max_norm=5.0)
    opt.step(model.grads)

``weight_decay`` adds an L2 penalty ``wd / 2 * ||p||^2`` to the loss of the chosen parameters, so
``wd * p`` is added to their gradient before the update (PyTorch's ``weight_decay``, the "coupled"
kind, not AdamW's). A number applies to every parameter; a dict ``{name: wd}`` to those names only,
like a PyTorch parameter group per name (e.g. only the output layer's weight matrix).
"""

from __future__ import annotations

import math
import numbers

import numpy as np


class Optimizer:
    def __init__(self, params: dict, lr: float, weight_decay: float | dict = 0.0):
        if not lr > 0:
            raise ValueError(f"learning rate must be positive, got {lr}")
        self.params = dict(params)  # name -> the layer's own array
        self.lr = lr
        self.weight_decay = weight_decay_by_name(weight_decay, self.params)

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
            g = grads[name]
            wd = self.weight_decay.get(name, 0.0)
            if wd:
                decayed = wd * p        # a new array: the caller's gradient is left as it was
                decayed += g
                g = decayed
            self._update(name, p, g)

    def _begin_step(self) -> None:
        """Per-step bookkeeping before the updates (Adam counts its steps here)."""

    def _update(self, name, p, g):
        raise NotImplementedError


class SGD(Optimizer):
    """``v = momentum * v + g;  p -= lr * v`` (PyTorch's convention; ``momentum=0`` is plain SGD)."""

    def __init__(self, params: dict, lr: float = 0.01, momentum: float = 0.0,
                 weight_decay: float | dict = 0.0):
        super().__init__(params, lr, weight_decay)
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
    """Adam (Kingma and Ba, 2015) with bias correction, as ``torch.optim.Adam``.

    Per parameter ``p`` with gradient ``g``, at step ``t``::

        m = beta1 * m + (1 - beta1) * g          # running mean of the gradient
        v = beta2 * v + (1 - beta2) * g**2       # running mean of its square
        p -= lr * m_hat / (sqrt(v_hat) + eps)    # m_hat = m / (1 - beta1**t), v_hat = v / (1 - beta2**t)

    Written with in-place operations on one scratch array per parameter: the arrays are as large
    as the weights (the output layer of a language model has hundreds of thousands), and a fresh
    temporary for every operation of every step costs more than the arithmetic.
    """

    def __init__(self, params: dict, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float | dict = 0.0):
        super().__init__(params, lr, weight_decay)
        if not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"Adam betas must be in [0, 1), got {betas}")
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.t = 0
        self.m = {k: np.zeros_like(p) for k, p in self.params.items()}
        self.v = {k: np.zeros_like(p) for k, p in self.params.items()}
        self._scratch = {k: np.empty_like(p) for k, p in self.params.items()}

    def _begin_step(self) -> None:
        self.t += 1

    def _update(self, name, p, g):
        m, v, buf = self.m[name], self.v[name], self._scratch[name]
        m *= self.beta1
        np.multiply(g, 1 - self.beta1, out=buf)
        m += buf
        v *= self.beta2
        np.multiply(g, g, out=buf)
        buf *= 1 - self.beta2
        v += buf
        # sqrt(v_hat) + eps, then lr * m_hat / that, in torch.optim.Adam's order (math.sqrt: a Python
        # float keeps float32 arrays in float32; a NumPy float64 scalar would promote the operation)
        np.sqrt(v, out=buf)
        buf /= math.sqrt(1 - self.beta2 ** self.t)
        buf += self.eps
        np.divide(m, buf, out=buf)
        buf *= self.lr / (1 - self.beta1 ** self.t)
        p -= buf


def weight_decay_by_name(weight_decay, names) -> dict:
    """``weight_decay`` as a checked dict ``{name: wd}``, for the parameter names ``names``.

    A number applies to every name; a dict names some of them (the others get none). Every value
    must be a finite real number >= 0. Used by the optimizers here and by the lessons that name
    parameters their own way (``decay_by_key``, ``CNNLSTMTorch.param_groups``).
    """
    names = list(names)
    if not isinstance(weight_decay, dict):
        weight_decay = dict.fromkeys(names, weight_decay)
    unknown = sorted(set(weight_decay) - set(names), key=str)
    if unknown:
        raise ValueError(f"weight_decay names parameters that do not exist: {unknown}; "
                         f"expected some of {sorted(names)}")
    for name, wd in weight_decay.items():
        if isinstance(wd, (bool, np.bool_)) or not isinstance(wd, numbers.Real) or not 0.0 <= wd < math.inf:
            raise ValueError(f"weight_decay of {name!r}: expected a finite number >= 0, got {wd!r}")
    return {name: float(wd) for name, wd in weight_decay.items()}


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
