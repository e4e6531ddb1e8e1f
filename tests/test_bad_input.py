"""Wrong input gets a clear error that names what was expected and what was received."""

import numpy as np
import pytest

from course_utils import (
    LSTM,
    Conv1D,
    Dense,
    Dropout,
    Embedding,
    GlobalMaxPool1D,
    ReLU,
    Sequential,
    bce_with_logits,
    mse,
    softmax_cross_entropy,
)


def test_dense_wrong_rank_and_feature_size():
    layer = Dense(4, 3)
    with pytest.raises(ValueError, match=r"Dense input: expected a 2-D or 3-D array, got shape \(4,\)"):
        layer.forward(np.zeros(4, np.float32))
    with pytest.raises(ValueError, match=r"expected last dimension 4, got shape \(2, 5\)"):
        layer.forward(np.zeros((2, 5), np.float32))
    with pytest.raises(ValueError, match="floating-point array, got dtype int64"):
        layer.forward(np.zeros((2, 4), np.int64))


def test_backward_checks_dy_and_order():
    layer = Dense(4, 3)
    with pytest.raises(RuntimeError, match="backward called before forward"):
        layer.backward(np.zeros((2, 3)))
    layer.forward(np.zeros((2, 4), np.float32))
    with pytest.raises(ValueError, match=r"expected dy of shape \(2, 3\), got \(2, 4\)"):
        layer.backward(np.zeros((2, 4)))


def test_embedding_float_and_out_of_range_ids():
    layer = Embedding(10, 4)
    with pytest.raises(ValueError, match="expected integer token ids, got dtype float64"):
        layer.forward(np.array([[1.0, 2.0]]))
    with pytest.raises(ValueError, match=r"ids must be in \[0, 10\), got values from 3 to 10"):
        layer.forward(np.array([[3, 10]]))
    with pytest.raises(ValueError, match=r"got values from -1"):
        layer.forward(np.array([[-1, 2]]))
    with pytest.raises(ValueError, match=r"1-D \(N,\) or 2-D \(N, T\).*got shape \(1, 2, 3\)"):
        layer.forward(np.zeros((1, 2, 3), np.int64))
    with pytest.raises(ValueError, match="padding_idx must be in"):
        Embedding(5, 2, padding_idx=5)


def test_conv1d_wrong_shapes():
    layer = Conv1D(3, 4, kernel_size=5)
    with pytest.raises(ValueError, match=r"expected a 3-D array, got shape \(4, 3\)"):
        layer.forward(np.zeros((4, 3), np.float32))
    with pytest.raises(ValueError, match=r"expected last dimension 3, got shape \(2, 8, 4\)"):
        layer.forward(np.zeros((2, 8, 4), np.float32))
    with pytest.raises(ValueError, match=r"at least kernel_size=5 time steps, got shape \(2, 4, 3\)"):
        layer.forward(np.zeros((2, 4, 3), np.float32))


def test_lstm_wrong_shapes_and_states():
    layer = LSTM(3, 5)
    with pytest.raises(ValueError, match=r"LSTM input: expected a 3-D array, got shape \(2, 3\)"):
        layer.forward(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"expected last dimension 3, got shape \(2, 4, 6\)"):
        layer.forward(np.zeros((2, 4, 6), np.float32))
    with pytest.raises(ValueError, match="at least one time step"):
        layer.forward(np.zeros((2, 0, 3), np.float32))
    x = np.zeros((2, 4, 3), np.float32)
    with pytest.raises(ValueError, match=r"h0: expected shape \(2, 5\) to match the batch, got \(3, 5\)"):
        layer.forward(x, initial_state=(np.zeros((3, 5)), np.zeros((2, 5))))
    with pytest.raises(ValueError, match=r"c0: expected last dimension 5"):
        layer.forward(x, initial_state=(np.zeros((2, 5)), np.zeros((2, 4))))
    with pytest.raises(ValueError, match=r"expected a pair \(h0, c0\)"):
        layer.forward(x, initial_state=np.zeros((2, 5)))
    layer.forward(x)
    with pytest.raises(ValueError, match=r"expected dh_T of shape \(2, 5\), got \(3, 5\)"):
        layer.backward(np.zeros((2, 4, 5)), d_final_state=(np.zeros((3, 5)), None))


def test_other_layers():
    with pytest.raises(ValueError, match=r"GlobalMaxPool1D input: expected a 3-D array"):
        GlobalMaxPool1D().forward(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"GlobalMaxPool1D input: expected at least one time step"):
        GlobalMaxPool1D().forward(np.zeros((2, 0, 3), np.float32))
    with pytest.raises(ValueError, match=r"Dropout.backward: expected dy of shape \(2, 3\), got \(3, 2\)"):
        drop = Dropout(0.5)
        drop.forward(np.zeros((2, 3), np.float32), training=False)
        drop.backward(np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"Dropout p must be in \[0, 1\)"):
        Dropout(1.0)
    with pytest.raises(ValueError, match="dtype must be float32 or float64"):
        Dense(2, 2, dtype=np.int32)
    with pytest.raises(ValueError, match="item 1 is a str, expected a Layer"):
        Sequential([ReLU(), "relu"])


def test_losses_reject_bad_targets_and_nan():
    logits = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"expected shape \(N, V\) or \(N, T, V\), got \(4,\)"):
        softmax_cross_entropy(np.zeros(4), np.array(1))
    with pytest.raises(FloatingPointError, match="expected finite values, got 1 NaN or infinite"):
        softmax_cross_entropy(np.array([[0.0, np.nan]]), np.array([0]))
    with pytest.raises(FloatingPointError, match="NaN or infinite"):
        mse(np.array([np.inf]), np.array([0.0]))
    with pytest.raises(FloatingPointError, match="NaN or infinite"):
        bce_with_logits(np.array([np.nan]), np.array([1.0]))
    with pytest.raises(ValueError, match=r"expected targets of shape \(3,\).*got \(4,\)"):
        softmax_cross_entropy(logits, np.zeros(4, np.int64))
    with pytest.raises(ValueError, match="expected integer class ids, got dtype float64"):
        softmax_cross_entropy(logits, np.zeros(3))
    with pytest.raises(ValueError, match=r"expected ids in \[0, 4\), got 0 to 4"):
        softmax_cross_entropy(logits, np.array([0, 1, 4]))
    with pytest.raises(ValueError, match="every target equals ignore_index"):
        softmax_cross_entropy(logits, np.zeros(3, np.int64), ignore_index=0)
    with pytest.raises(ValueError, match=r"expected target of shape \(3, 4\)"):
        mse(logits, np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"expected values in \[0, 1\]"):
        bce_with_logits(np.zeros(2), np.array([0.0, 2.0]))


def test_ignore_index_excludes_padding_from_the_mean():
    logits = np.log(np.array([[[0.5, 0.5], [0.9, 0.1]]]))  # (1, 2, 2)
    loss, grad = softmax_cross_entropy(logits, np.array([[0, 1]]), ignore_index=1)
    assert loss == pytest.approx(-np.log(0.5))
    assert np.all(grad[0, 1] == 0)
