"""The contract every layer follows, and the input checks they share.

A layer holds its parameters in ``self.params`` and, after ``backward``, the matching
gradients in ``self.grads`` (same keys, same shapes). ``forward`` caches what
``backward`` needs; ``backward(dy)`` takes the gradient of the loss with respect to
the layer's output and returns the gradient with respect to its input.

Optimizers update ``params`` arrays *in place*, so a layer never rebinds them.
"""

from __future__ import annotations

import numpy as np

FLOAT_DTYPES = (np.float32, np.float64)


class Layer:
    """Base class: ``params``, ``grads``, ``forward``, ``backward``, ``zero_grad``."""

    def __init__(self, dtype=np.float32):
        # dtype=None: a layer without parameters computes in whatever float dtype it receives,
        # so a float64 model stays float64 all the way through (as gradient checks need).
        if dtype is not None:
            dtype = np.dtype(dtype)
            if dtype not in FLOAT_DTYPES:
                raise ValueError(f"dtype must be float32 or float64, got {dtype}")
        self.dtype = dtype
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self._cache = None
        self._buffers: dict[str, np.ndarray] = {}

    def forward(self, x, training: bool = True):
        """Compute the layer's output for a batch and cache what ``backward`` needs (abstract).

        Inputs:
        - x: batch-first input array; its shape and dtype depend on the layer.
        - training: True while training; False switches off training-only behaviour (Dropout).

        Returns:
        - y: batch-first output array.
        """
        raise NotImplementedError

    def backward(self, dy):
        """Backpropagate through the last ``forward`` call (abstract).

        Inputs:
        - dy: gradient of the loss w.r.t. the output of ``forward``, of the same shape.

        Returns:
        - dx: gradient w.r.t. the input ``x``, of the same shape (None for integer ids).

        Fills ``self.grads`` (same keys and shapes as ``self.params``).
        """
        raise NotImplementedError

    def __call__(self, x, training: bool = True):
        """Same as ``self.forward(x, training=training)``."""
        return self.forward(x, training=training)

    def zero_grad(self) -> None:
        """Reset every gradient to zeros (shapes and dtypes of the parameters)."""
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def _scratch(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """A work array kept between calls and overwritten by the next call of the same shape.

        Why: a fresh multi-megabyte array at every call gets fresh pages from the operating
        system, and on a small (virtual) machine those page faults can cost as much as the
        arithmetic. Only what ``forward`` caches for ``backward`` and internal temporaries live
        here; arrays handed back to the caller are always new.
        """
        buf = self._buffers.get(name)
        if buf is None or buf.shape != tuple(shape):
            buf = self._buffers[name] = np.empty(shape, self.dtype)
        return buf

    def _need_cache(self):
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        return self._cache

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}={tuple(v.shape)}" for k, v in self.params.items())
        return f"{type(self).__name__}({shapes})"


def check_float_input(x, name: str, layer: Layer, ndims: tuple[int, ...], last_dim: int | None = None):
    """Check ``x`` and return it in the layer's dtype (its own float dtype if the layer has none).

    A wrong input raises a ValueError. ``ndims`` lists the accepted numbers of dimensions;
    ``last_dim`` the required size of the last axis (the feature size). Integer and boolean
    inputs are refused rather than silently converted: token ids fed to a Dense layer are a
    bug, not data.
    """
    where = f"{type(layer).__name__} {name}"
    x = np.asarray(x)
    if x.dtype.kind != "f":
        raise ValueError(f"{where}: expected a floating-point array, got dtype {x.dtype} "
                         f"(convert with x.astype(np.{layer.dtype or np.dtype(np.float32)}))")
    if x.ndim not in ndims:
        want = " or ".join(f"{n}-D" for n in ndims)
        raise ValueError(f"{where}: expected a {want} array, got shape {x.shape}")
    if last_dim is not None and x.shape[-1] != last_dim:
        raise ValueError(f"{where}: expected last dimension {last_dim}, got shape {x.shape}")
    return x if layer.dtype is None else x.astype(layer.dtype, copy=False)


def check_grad(dy, expected_shape: tuple[int, ...], layer: Layer, name: str = "dy"):
    """Return an upstream gradient in the layer's dtype after checking its shape.

    ``name`` is the argument's name in the error (``dy``, or ``dh_T`` for a final state).
    """
    dy = np.asarray(dy)
    if dy.shape != tuple(expected_shape):
        raise ValueError(f"{type(layer).__name__}.backward: expected {name} of shape "
                         f"{tuple(expected_shape)}, got {dy.shape}")
    if layer.dtype is not None:
        return dy.astype(layer.dtype, copy=False)
    return dy if dy.dtype.kind == "f" else dy.astype(np.float64)
