"""Dense (fully connected) layer: ``y = x @ W + b``."""

from __future__ import annotations

import numpy as np

from ..seeding import get_rng
from .base import Layer, check_float_input, check_grad


class Dense(Layer):
    """Affine map on the last axis.

    Shapes: ``x (N, D) -> y (N, M)``, or ``x (N, T, D) -> y (N, T, M)`` (every time step
    gets the same weights). Parameters: ``W (D, M)``, ``b (M,)``.

    ``W`` is stored input-major (``x @ W``), the transpose of ``torch.nn.Linear.weight``;
    initialisation is PyTorch's: uniform in ``±1/sqrt(D)`` for both ``W`` and ``b``.
    """

    def __init__(self, in_features: int, out_features: int, *, rng=None, dtype=np.float32):
        super().__init__(dtype)
        rng = get_rng(rng)
        bound = 1.0 / np.sqrt(in_features)
        self.in_features, self.out_features = in_features, out_features
        self.params = {
            "W": rng.uniform(-bound, bound, (in_features, out_features)).astype(self.dtype),
            "b": rng.uniform(-bound, bound, out_features).astype(self.dtype),
        }
        self.zero_grad()

    def forward(self, x, training: bool = True):
        """Affine map ``y = x @ W + b`` on the last axis.

        Inputs:
        - x: (N, D) or (N, T, D) float; cast to the layer's dtype.
        - training: unused.

        Returns:
        - y: (N, M) or (N, T, M).

        Caches ``x`` for ``backward``.
        """
        x = check_float_input(x, "input", self, ndims=(2, 3), last_dim=self.in_features)
        self._cache = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, dy):
        """Backward pass of the affine map.

        Inputs:
        - dy: (N, M) or (N, T, M), the shape of the forward output.

        Returns:
        - dx: same shape as ``x``, (N, D) or (N, T, D).

        Fills ``grads["W"]`` (D, M) and ``grads["b"]`` (M,), summed over the batch (and time) axes.
        """
        x = self._need_cache()
        dy = check_grad(dy, x.shape[:-1] + (self.out_features,), self)
        # Flatten (N, T) into one batch axis so that one matrix product covers every step.
        x2 = x.reshape(-1, self.in_features)
        dy2 = dy.reshape(-1, self.out_features)
        self.grads["W"] = x2.T @ dy2
        self.grads["b"] = dy2.sum(axis=0)
        return dy @ self.params["W"].T
