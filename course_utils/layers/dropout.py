"""Inverted dropout."""

from __future__ import annotations

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
        """Inverted dropout ``y = x * mask``: ``mask`` is 0 with probability ``p``, else ``1/(1-p)``.

        Inputs:
        - x: float array with 1 to 5 dimensions; kept in its own dtype unless the layer has one.
        - training: if False (or ``p == 0``) the layer is the identity and returns ``x``.

        Returns:
        - y: same shape and dtype as ``x``.

        Caches the input shape and the mask (None for the identity); a new mask is drawn at every
        training call, from ``rng`` or the course generator.
        """
        x = check_float_input(x, "input", self, ndims=tuple(range(1, 6)))
        if not training or self.p == 0.0:
            self._cache = (x.shape, None)  # identity
            return x
        keep = get_rng(self.rng).random(x.shape) >= self.p
        mask = keep.astype(x.dtype) / x.dtype.type(1.0 - self.p)
        self._cache = (x.shape, mask)
        return x * mask

    def backward(self, dy):
        """Gradient of dropout: ``dx = dy * mask``, or ``dy`` itself for the identity.

        Inputs:
        - dy: same shape as the forward input.

        Returns:
        - dx: same shape. No parameters, so no ``grads``.
        """
        shape, mask = self._need_cache()
        dy = check_grad(dy, shape, self)
        return dy if mask is None else dy * mask
