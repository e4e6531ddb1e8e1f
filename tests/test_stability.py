"""Sigmoid, softmax, the losses and the LSTM stay finite and warning-free on inputs of ±1000."""

import warnings

import numpy as np
import pytest

from course_utils import (
    LSTM,
    Sigmoid,
    bce_with_logits,
    log_softmax,
    mse,
    sigmoid,
    softmax,
    softmax_cross_entropy,
)

EXTREME = np.array([[-1000.0, -30.0, 0.0, 30.0, 1000.0]])


@pytest.fixture(autouse=True)
def no_warnings():
    """Turn every NumPy floating-point event and every warning into an error."""
    with warnings.catch_warnings(), np.errstate(over="raise", under="ignore", invalid="raise",
                                                divide="raise"):
        warnings.simplefilter("error")
        yield


def test_sigmoid():
    s = sigmoid(EXTREME)
    assert np.all(np.isfinite(s))
    np.testing.assert_allclose(s[0, [0, 2, 4]], [0.0, 0.5, 1.0])
    assert s[0, 1] == pytest.approx(1 / (1 + np.exp(30.0)), rel=1e-12)  # tiny, yet exact
    assert np.all(np.isfinite(Sigmoid(dtype=np.float64).forward(EXTREME)))
    assert np.all(np.isfinite(sigmoid(EXTREME.astype(np.float32))))


def test_softmax_and_log_softmax():
    p = softmax(EXTREME)
    assert np.all(np.isfinite(p)) and p.sum() == pytest.approx(1.0)
    assert p[0, -1] == pytest.approx(1.0)
    lp = log_softmax(EXTREME)
    assert np.all(np.isfinite(lp)) and lp[0, 0] == pytest.approx(-2000.0)


def test_losses():
    loss, grad = softmax_cross_entropy(EXTREME, np.array([0]))  # the worst class: loss 2000, not inf
    assert loss == pytest.approx(2000.0) and np.all(np.isfinite(grad))
    for target in (0.0, 1.0):
        loss, grad = bce_with_logits(EXTREME, np.full_like(EXTREME, target))
        assert np.isfinite(loss) and np.all(np.isfinite(grad))
    assert bce_with_logits(np.array([1000.0]), np.array([1.0]))[0] == 0.0
    assert bce_with_logits(np.array([-1000.0]), np.array([1.0]))[0] == pytest.approx(1000.0)
    loss, grad = mse(EXTREME, -EXTREME)
    assert np.isfinite(loss) and np.all(np.isfinite(grad))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lstm_saturates_without_overflow(dtype):
    layer = LSTM(1, 3, dtype=dtype, rng=np.random.default_rng(0))
    x = np.array([[[1000.0], [-1000.0], [1000.0]]], dtype=dtype)
    y = layer.forward(x)
    dx = layer.backward(np.ones_like(y))
    assert np.all(np.isfinite(y)) and np.all(np.abs(y) <= 1) and np.all(np.isfinite(dx))
