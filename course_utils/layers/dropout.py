"""Inverted dropout."""

from __future__ import annotations

import numpy as np

from ..seeding import get_rng
from .base import Layer, check_float_input, check_grad


class Dropout(Layer):
    """Zero each value with probability ``p`` during training and scale the rest by ``1/(1-p)``.

    Scaling at training time ("inverted" dropout) means evaluation needs no change:
    with ``training=False`` the layer is the identity. Any input shape, in the input's float dtype.
    """

    def __init__(self, p: float = 0.5, *, rng=None, dtype=None):
        super().__init__(dtype)
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout p must be in [0, 1), got {p}")
        self.p = p
        self.rng = rng  # None: draw from the course generator at each call

    def forward(self, x, training: bool = True):
        x = check_float_input(x, "input", self, ndims=tuple(range(1, 6)))
        if not training or self.p == 0.0:
            self._cache = (x.shape, None)  # identity
            return x
        keep = get_rng(self.rng).random(x.shape) >= self.p
        mask = keep.astype(x.dtype) / x.dtype.type(1.0 - self.p)
        self._cache = (x.shape, mask)
        return x * mask

    def backward(self, dy):
        shape, mask = self._need_cache()
        dy = check_grad(dy, shape, self)
        return dy if mask is None else dy * mask
