"""Inverted dropout."""

from __future__ import annotations

import numpy as np

from ..seeding import get_rng
from .base import Layer, check_float_input, check_grad


class Dropout(Layer):
    """Zero each value with probability ``p`` during training and scale the rest by ``1/(1-p)``.

    Scaling at training time ("inverted" dropout) means evaluation needs no change:
    with ``training=False`` the layer is the identity. Any input shape.
    """

    def __init__(self, p: float = 0.5, *, rng=None, dtype=np.float32):
        super().__init__(dtype)
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout p must be in [0, 1), got {p}")
        self.p = p
        self.rng = rng  # None: draw from the course generator at each call

    def forward(self, x, training: bool = True):
        x = check_float_input(x, "input", self, ndims=tuple(range(1, 6)))
        if not training or self.p == 0.0:
            self._cache = np.ones((), dtype=self.dtype)  # identity: a scalar mask of 1
            return x
        keep = get_rng(self.rng).random(x.shape) >= self.p
        mask = keep.astype(self.dtype) / (1.0 - self.p)
        self._cache = mask
        return x * mask

    def backward(self, dy):
        mask = self._need_cache()
        dy = np.asarray(dy, dtype=self.dtype)
        if mask.ndim:
            dy = check_grad(dy, mask.shape, self)
        return dy * mask
