"""1-D convolution over time, "valid" padding, stride 1, channels last."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..seeding import get_rng
from .base import Layer, check_float_input, check_grad


class Conv1D(Layer):
    """``x (N, T, C_in) -> y (N, T - k + 1, C_out)``.

    ``y[n, t] = b + sum_j x[n, t + j] @ W[j]`` for kernel offsets ``j = 0 .. k-1``: each
    offset is a small Dense layer ``(C_in, C_out)`` applied to a shifted copy of the input.

    Parameters: ``W (k, C_in, C_out)``, ``b (C_out,)``; PyTorch's ``nn.Conv1d.weight`` is
    ``(C_out, C_in, k)`` (see ``course_utils.interop``). Initialisation as PyTorch: uniform
    in ``±1/sqrt(C_in * k)``.

    The forward pass is im2col: every window of ``k`` steps becomes one row of length
    ``k * C_in`` and the whole convolution is one matrix product.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, *, rng=None, dtype=np.float32):
        super().__init__(dtype)
        if kernel_size < 1:
            raise ValueError(f"kernel_size must be at least 1, got {kernel_size}")
        rng = get_rng(rng)
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        bound = 1.0 / np.sqrt(in_channels * kernel_size)
        self.params = {
            "W": rng.uniform(-bound, bound, (kernel_size, in_channels, out_channels)).astype(self.dtype),
            "b": rng.uniform(-bound, bound, out_channels).astype(self.dtype),
        }
        self.zero_grad()

    def forward(self, x, training: bool = True):
        """Valid convolution over time, stride 1, as one im2col matrix product.

        Inputs:
        - x: (N, T, C_in) float with T >= k (kernel_size); cast to the layer's dtype.
        - training: unused.

        Returns:
        - y: (N, T - k + 1, C_out).

        Caches the input shape and the im2col matrix ``cols`` (N * (T - k + 1), k * C_in).
        """
        x = check_float_input(x, "input", self, ndims=(3,), last_dim=self.in_channels)
        N, T, C = x.shape
        k = self.kernel_size
        if T < k:
            raise ValueError(f"Conv1D input: expected at least kernel_size={k} time steps, "
                             f"got shape {x.shape}")
        # windows: (N, T-k+1, C, k) view without copying -> (N, T-k+1, k, C) -> rows of k*C.
        windows = sliding_window_view(x, k, axis=1).transpose(0, 1, 3, 2)
        cols = windows.reshape(N * (T - k + 1), k * C)  # the one copy: im2col
        self._cache = (x.shape, cols)
        y = cols @ self.params["W"].reshape(k * C, self.out_channels) + self.params["b"]
        return y.reshape(N, T - k + 1, self.out_channels)

    def backward(self, dy):
        """Backward pass of the convolution (col2im for ``dx``).

        Inputs:
        - dy: (N, T - k + 1, C_out).

        Returns:
        - dx: (N, T, C_in), in the layer's dtype.

        Fills ``grads["W"]`` (k, C_in, C_out) and ``grads["b"]`` (C_out,).
        """
        (N, T, C), cols = self._need_cache()
        k, T_out = self.kernel_size, T - self.kernel_size + 1
        dy = check_grad(dy, (N, T_out, self.out_channels), self)
        dy2 = dy.reshape(N * T_out, self.out_channels)
        self.grads["W"] = (cols.T @ dy2).reshape(k, C, self.out_channels)
        self.grads["b"] = dy2.sum(axis=0)
        dcols = (dy2 @ self.params["W"].reshape(k * C, self.out_channels).T).reshape(N, T_out, k, C)
        # col2im: input step t + j received gradient from window t at offset j.
        dx = np.zeros((N, T, C), dtype=self.dtype)
        for j in range(k):
            dx[:, j:j + T_out] += dcols[:, :, j]
        return dx
