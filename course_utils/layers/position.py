"""Position channels: tell a convolution *where* in the context each word sits."""

from __future__ import annotations

import numpy as np

from .base import Layer, check_float_input, check_grad


class PositionChannels(Layer):
    """``x (N, T, C) -> y (N, T, C + T)``: each step gets a one-hot code of its position appended.

    Step ``t`` of every sequence gains ``T`` channels that are all 0 except channel ``C + t``, which
    is 1. A convolution that reads these channels can tell "cancer" in the last slot of the context
    from "cancer" three words back, which global max pooling alone cannot (it keeps the strongest
    match of a filter and forgets where it was). No parameters; the position code is constant, so
    the gradient simply drops those channels. Computes in the input's float dtype.
    """

    def __init__(self, dtype=None):
        super().__init__(dtype)

    def forward(self, x, training: bool = True):
        """Append the one-hot position of each step.

        Inputs:
        - x: (N, T, C) float; kept in its own dtype unless the layer has one.
        - training: unused.

        Returns:
        - y: (N, T, C + T); ``y[:, :, :C] = x`` and ``y[n, t, C + t] = 1``.

        Caches the input shape for ``backward``.
        """
        x = check_float_input(x, "input", self, ndims=(3,))
        N, T, C = x.shape
        y = np.zeros((N, T, C + T), dtype=x.dtype)
        y[:, :, :C] = x
        y[:, np.arange(T), C + np.arange(T)] = 1.0
        self._cache = x.shape
        return y

    def backward(self, dy):
        """The gradient of the kept channels; the position channels are constants.

        Inputs:
        - dy: (N, T, C + T).

        Returns:
        - dx: (N, T, C), a copy of ``dy[:, :, :C]``. No parameters, so no ``grads``.
        """
        shape = self._need_cache()
        N, T, C = shape
        dy = check_grad(dy, (N, T, C + T), self)
        return dy[:, :, :C].copy()
