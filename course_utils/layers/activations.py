"""Element-wise activations (ReLU, Sigmoid, Tanh) and a numerically stable sigmoid."""

from __future__ import annotations

import numpy as np

from .base import Layer, check_float_input, check_grad


def sigmoid(x):
    """``1 / (1 + exp(-x))`` without overflow: finite and warning-free for any finite input.

    ``exp`` is only ever taken of ``-|x|`` (at most 1), then the two branches
    ``1 / (1 + e)`` for ``x >= 0`` and ``e / (1 + e)`` for ``x < 0`` share it.
    """
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0, e) / (1.0 + e)


class _Elementwise(Layer):
    """A parameter-free layer ``y = f(x)`` on arrays of any shape, in the input's float dtype."""

    def __init__(self, dtype=None):
        super().__init__(dtype)

    def forward(self, x, training: bool = True):
        """Apply the activation element-wise: ``y = f(x)``.

        Inputs:
        - x: float array with 1 to 5 dimensions, e.g. (N, D) or (N, T, D); kept in its own
          dtype (float32 or float64) unless the layer was given a dtype.
        - training: unused.

        Returns:
        - y: same shape and dtype as ``x``.

        Caches ``(x, y)`` for ``backward``.
        """
        x = check_float_input(x, "input", self, ndims=tuple(range(1, 6)))
        y = self._f(x)
        self._cache = (x, y)
        return y

    def backward(self, dy):
        """Gradient through the activation: ``dx = dy * f'(x)``.

        Inputs:
        - dy: upstream gradient, same shape as the forward output.

        Returns:
        - dx: same shape as ``x``. No parameters, so no ``grads``.
        """
        x, y = self._need_cache()
        return check_grad(dy, y.shape, self) * self._df(x, y)


class ReLU(_Elementwise):
    """``max(0, x)``; the gradient at exactly 0 is taken as 0 (as PyTorch does)."""

    def _f(self, x):
        return np.maximum(x, 0)

    def _df(self, x, y):
        return (x > 0).astype(x.dtype)


class Sigmoid(_Elementwise):
    """``1 / (1 + exp(-x))``; derivative ``y (1 - y)``."""

    def _f(self, x):
        return sigmoid(x).astype(x.dtype, copy=False)

    def _df(self, x, y):
        return y * (1 - y)


class Tanh(_Elementwise):
    """``tanh(x)``; derivative ``1 - y^2``."""

    def _f(self, x):
        return np.tanh(x)

    def _df(self, x, y):
        return 1 - y * y
