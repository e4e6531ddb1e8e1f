"""What every checker does: compare arrays with a clear message, and say so when the answer is right."""

from __future__ import annotations

import numpy as np

from course_utils.gradcheck import rel_error


def expect_shape(name: str, value, shape: tuple) -> np.ndarray:
    """``value`` as an array of ``shape``, else an AssertionError that names both shapes."""
    value = np.asarray(value)
    assert value.shape == tuple(shape), f"{name}: expected shape {tuple(shape)}, got {value.shape}"
    return value


def expect_close(name: str, value, expected, tol: float = 1e-7) -> float:
    """Relative error (``course_utils.rel_error``) of ``value`` against ``expected`` below ``tol``."""
    value = expect_shape(name, value, np.shape(expected))
    assert np.all(np.isfinite(value)), f"{name}: contains NaN or infinity"
    error = rel_error(value, expected)
    assert error < tol, f"{name}: relative error {error:.1e} (should be below {tol:.0e})"
    return error


def report(exercise: str, errors: dict, measure: str = "relative error") -> None:
    """Print that the answer passed: how many checks, and the worst value of what they measured."""
    worst = max(errors.values()) if errors else 0.0
    print(f"{exercise}: correct ({len(errors)} checks, worst {measure} {worst:.1e})")
