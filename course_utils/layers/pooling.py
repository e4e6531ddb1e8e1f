"""Global max pooling over time."""

from __future__ import annotations

import numpy as np

from .base import Layer, check_float_input, check_grad


class GlobalMaxPool1D(Layer):
    """``x (N, T, C) -> y (N, C)``: the largest value of each channel over all time steps.

    The gradient flows only to the step that held the maximum (the first one on ties,
    as ``argmax`` picks it). Computes in the input's float dtype.
    """

    def __init__(self, dtype=None):
        super().__init__(dtype)

    def forward(self, x, training: bool = True):
        """Maximum over the time axis, per sample and channel.

        Inputs:
        - x: (N, T, C) float with T >= 1; kept in its own dtype unless the layer has one.
        - training: unused.

        Returns:
        - y: (N, C).

        Caches the input shape and dtype and the ``argmax`` steps (N, C) for ``backward``.
        """
        x = check_float_input(x, "input", self, ndims=(3,))
        if x.shape[1] == 0:
            raise ValueError(f"GlobalMaxPool1D input: expected at least one time step, got shape {x.shape}")
        idx = x.argmax(axis=1)  # (N, C): which step won, per channel
        self._cache = (x.shape, x.dtype, idx)
        return np.take_along_axis(x, idx[:, None, :], axis=1)[:, 0, :]

    def backward(self, dy):
        """Route each ``dy[n, c]`` to the time step that held the maximum; zeros elsewhere.

        Inputs:
        - dy: (N, C).

        Returns:
        - dx: (N, T, C), in the forward input's dtype. No parameters, so no ``grads``.
        """
        shape, dtype, idx = self._need_cache()
        dy = check_grad(dy, (shape[0], shape[2]), self)
        dx = np.zeros(shape, dtype=dtype)
        np.put_along_axis(dx, idx[:, None, :], dy[:, None, :], axis=1)
        return dx
