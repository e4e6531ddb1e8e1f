"""Float64 gradient checks of every layer and loss: backward against centred differences.

Each check uses a random upstream gradient and must reach a max relative error below 1e-7
(see ``course_utils.gradcheck.rel_error``). The errors are printed at the end of the run.
"""

import numpy as np
import pytest
import torch
from conftest import GRADCHECK_REPORT

from course_utils import (
    LSTM,
    Conv1D,
    Dense,
    Dropout,
    Embedding,
    GlobalMaxPool1D,
    PositionChannels,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    bce_with_logits,
    check_layer_gradients,
    check_loss_gradient,
    check_model_gradients,
    mse,
    numerical_gradient,
    rel_error,
    softmax_cross_entropy,
)

TOL = 1e-7
F64 = np.float64


def assert_small(name, errors):
    for key, err in errors.items():
        GRADCHECK_REPORT[f"{name} d{key}"] = err
    worst = max(errors.values())
    assert worst < TOL, f"{name}: gradient check failed, relative errors {errors}"


def away_from_kinks(x, margin=1e-3):
    """Move values off 0, where ReLU's derivative jumps and finite differences straddle the kink."""
    return np.where(np.abs(x) < margin, margin * np.sign(x) + margin * (x == 0), x)


@pytest.mark.parametrize("shape", [(4, 5), (3, 4, 5)])
def test_dense(rng, shape):
    assert_small(f"Dense {shape}",
                 check_layer_gradients(Dense(5, 3, rng=rng, dtype=F64), rng.standard_normal(shape)))


def test_embedding_with_repeated_ids(rng):
    ids = np.array([[1, 2, 2, 0], [3, 1, 0, 0]])  # repeated ids must accumulate
    layer = Embedding(5, 3, rng=rng, dtype=F64)
    errors = check_layer_gradients(layer, ids)
    assert "x" not in errors  # integer ids have no gradient
    assert_small("Embedding", errors)
    assert np.all(layer.grads["W"][4] == 0)  # never used


def test_embedding_padding_row_and_frozen_table_get_no_gradient(rng):
    ids = np.array([[1, 2, 2, 0], [3, 1, 0, 0]])
    dy = rng.standard_normal((2, 4, 3))
    padded = Embedding(5, 3, padding_idx=0, rng=rng, dtype=F64)
    assert np.all(padded.params["W"][0] == 0)
    padded.forward(ids)
    padded.backward(dy)
    assert np.all(padded.grads["W"][0] == 0) and np.any(padded.grads["W"][1] != 0)
    frozen = Embedding(5, 3, trainable=False, rng=rng, dtype=F64)
    frozen.forward(ids)
    frozen.backward(dy)
    assert not np.any(frozen.grads["W"])


@pytest.mark.parametrize("k", [1, 3, 5])
def test_conv1d(rng, k):
    layer = Conv1D(3, 4, k, rng=rng, dtype=F64)
    assert_small(f"Conv1D k={k}", check_layer_gradients(layer, rng.standard_normal((2, 7, 3))))


@pytest.mark.parametrize("layer_cls", [ReLU, Sigmoid, Tanh])
def test_activations(rng, layer_cls):
    x = away_from_kinks(rng.standard_normal((3, 4, 5)))
    assert_small(layer_cls.__name__, check_layer_gradients(layer_cls(), x))  # float64 because x is


def test_global_max_pool(rng):
    assert_small("GlobalMaxPool1D", check_layer_gradients(GlobalMaxPool1D(), rng.standard_normal((3, 6, 4))))


def test_position_channels(rng):
    layer = PositionChannels()
    assert_small("PositionChannels", check_layer_gradients(layer, rng.standard_normal((3, 5, 4))))
    x = rng.standard_normal((2, 3, 4))
    y = layer.forward(x)
    assert y.shape == (2, 3, 7) and y.dtype == x.dtype
    np.testing.assert_array_equal(y[:, :, :4], x)
    np.testing.assert_array_equal(y[0, :, 4:], np.eye(3))        # step t: a 1 in channel 4 + t
    np.testing.assert_array_equal(y[1, :, 4:], np.eye(3))
    t = torch.from_numpy(x)     # the same channels in PyTorch: the input and an identity matrix, side by side
    np.testing.assert_array_equal(torch.cat([t, torch.eye(3, dtype=t.dtype).expand(2, 3, 3)], dim=2), y)
    with pytest.raises(ValueError, match="PositionChannels"):
        layer.forward(x[0])


def test_whole_model_with_position_channels(rng):
    """Lesson 04's CNN with its position channels, end to end."""
    model = Sequential([Embedding(9, 4, rng=rng, dtype=F64), PositionChannels(),
                        Conv1D(4 + 7, 6, 3, rng=rng, dtype=F64), ReLU(), GlobalMaxPool1D(),
                        Dense(6, 9, rng=rng, dtype=F64)])
    ids, targets = rng.integers(0, 9, (5, 7)), rng.integers(0, 9, 5)
    assert_small("Embedding-Position-Conv1D-ReLU-MaxPool-Dense",
                 check_model_gradients(model, softmax_cross_entropy, ids, targets))


def test_dropout_with_a_fixed_mask(rng):
    layer = Dropout(0.4)
    forward = layer.forward

    def same_mask_forward(x, training=True):
        layer.rng = np.random.default_rng(7)  # the same mask at every call of the check
        return forward(x, training=training)

    layer.forward = same_mask_forward
    assert_small("Dropout", check_layer_gradients(layer, rng.standard_normal((4, 6))))
    y = layer.forward(np.ones((4, 6)))
    assert set(np.unique(y)) <= {0.0, 1 / 0.6}
    np.testing.assert_array_equal(layer.forward(np.ones((4, 6)), training=False), np.ones((4, 6)))


@pytest.mark.parametrize("return_sequences", [True, False])
def test_lstm(rng, return_sequences):
    layer = LSTM(3, 4, return_sequences=return_sequences, rng=rng, dtype=F64)
    layer.params["b"][...] = rng.standard_normal(16)  # non-zero biases
    assert_small(f"LSTM return_sequences={return_sequences}",
                 check_layer_gradients(layer, rng.standard_normal((2, 5, 3))))


@pytest.mark.parametrize("return_sequences", [True, False])
def test_lstm_initial_and_final_state(rng, return_sequences):
    """Gradients into (h0, c0) and from the final (h_T, c_T), as truncated BPTT uses them."""
    N, T, D, H = 3, 4, 2, 5
    layer = LSTM(D, H, return_sequences=return_sequences, rng=rng, dtype=F64)
    x, h0, c0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    y, _ = layer.forward(x, initial_state=(h0, c0), return_state=True)
    dy, dh_T, dc_T = rng.standard_normal(y.shape), rng.standard_normal((N, H)), rng.standard_normal((N, H))

    def loss():
        y, (h, c) = layer.forward(x, initial_state=(h0, c0), return_state=True)
        return float(np.sum(y * dy) + np.sum(h * dh_T) + np.sum(c * dc_T))

    loss()
    dx = layer.backward(dy, d_final_state=(dh_T, dc_T))
    analytic = {"x": dx, "h0": layer.d_initial_state[0], "c0": layer.d_initial_state[1],
                **{k: g.copy() for k, g in layer.grads.items()}}
    arrays = {"x": x, "h0": h0, "c0": c0, **layer.params}
    errors = {k: rel_error(analytic[k], numerical_gradient(loss, arrays[k])) for k in analytic}
    assert_small(f"LSTM with states, return_sequences={return_sequences}", errors)


def test_whole_model_embedding_conv_lstm_dense(rng):
    """Gradients flow through every part of the lesson 05 hybrid into the embeddings."""
    model = Sequential([Embedding(11, 4, rng=rng, dtype=F64), Conv1D(4, 5, 2, rng=rng, dtype=F64),
                        Tanh(), LSTM(5, 3, return_sequences=False, rng=rng, dtype=F64),
                        Dense(3, 11, rng=rng, dtype=F64)])
    ids, targets = rng.integers(0, 11, (4, 6)), rng.integers(0, 11, 4)
    assert_small("Embedding-Conv1D-Tanh-LSTM-Dense",
                 check_model_gradients(model, softmax_cross_entropy, ids, targets))


def test_whole_float_model_with_parameter_free_layers_in_float64(rng):
    """Parameter-free layers follow the input's dtype, so a float64 model stays float64 (and checks)."""
    model = Sequential([Dense(5, 8, rng=rng, dtype=F64), Tanh(), Dropout(0.5),
                        Dense(8, 6, rng=rng, dtype=F64), Sigmoid(), Dense(6, 3, rng=rng, dtype=F64)])
    x = rng.standard_normal((4, 7, 5))
    y = rng.standard_normal((4, 7, 3))
    assert model.forward(x).dtype == np.float64
    errors = check_model_gradients(model, mse, x, y)
    assert "x" in errors
    assert_small("Dense-Tanh-Dropout-Dense-Sigmoid-Dense (float input)", errors)


def test_softmax_cross_entropy(rng):
    err = check_loss_gradient(softmax_cross_entropy, rng.standard_normal((6, 5)), rng.integers(0, 5, 6))
    assert_small("softmax_cross_entropy", {"logits": err})


@pytest.mark.parametrize("shape, ignore_index", [((6, 5), None), ((3, 4, 5), None), ((3, 4, 5), 0)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_cross_entropy_matches_torch_and_leaves_the_logits_alone(rng, shape, ignore_index, dtype):
    import torch
    import torch.nn.functional as F

    logits = (3 * rng.standard_normal(shape)).astype(dtype)
    targets = rng.integers(0, shape[-1], shape[:-1])
    targets.flat[0] = 0                                      # at least one ignored position
    given = logits.copy()
    loss, dlogits = softmax_cross_entropy(logits, targets, ignore_index=ignore_index)
    np.testing.assert_array_equal(logits, given)             # the logits are not changed
    assert dlogits.dtype == dtype and dlogits.shape == shape
    t_logits = torch.tensor(logits.astype(np.float64), requires_grad=True)
    t_loss = F.cross_entropy(t_logits.reshape(-1, shape[-1]), torch.tensor(targets).reshape(-1),
                             ignore_index=-100 if ignore_index is None else ignore_index)
    t_loss.backward()
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert loss == pytest.approx(t_loss.item(), rel=tol)
    np.testing.assert_allclose(dlogits, t_logits.grad.numpy(), rtol=tol, atol=tol)


def test_softmax_cross_entropy_sequence_with_ignored_padding(rng):
    targets = rng.integers(1, 5, (3, 4))
    targets[:, -1] = 0
    err = check_loss_gradient(softmax_cross_entropy, rng.standard_normal((3, 4, 5)), targets, ignore_index=0)
    assert_small("softmax_cross_entropy ignore_index", {"logits": err})


def test_mse(rng):
    assert_small("mse",
                 {"pred": check_loss_gradient(mse, rng.standard_normal((5, 1)), rng.standard_normal((5, 1)))})


def test_bce_with_logits(rng):
    err = check_loss_gradient(bce_with_logits, rng.standard_normal((5, 3)),
                              rng.integers(0, 2, (5, 3)).astype(F64))
    assert_small("bce_with_logits", {"logits": err})


def test_the_checker_catches_a_wrong_gradient(rng):
    """A gradient check that cannot fail proves nothing: break Dense.backward and watch it fail."""
    layer = Dense(4, 3, rng=rng, dtype=F64)
    backward = layer.backward

    def wrong_backward(dy):
        dx = backward(dy)
        layer.grads["b"] = layer.grads["b"] * 1.001  # a 0.1% error
        return dx

    layer.backward = wrong_backward
    errors = check_layer_gradients(layer, rng.standard_normal((5, 4)))
    assert errors["b"] > 1e-4 and errors["W"] < TOL


def test_rel_error_definition():
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.2])) == pytest.approx(0.2 / 2.2)
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    with pytest.raises(ValueError, match="shapes differ"):
        rel_error(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="float64"):
        numerical_gradient(lambda: 0.0, np.zeros(3, np.float32))


def test_whole_model_embedding_conv_relu_maxpool_dense(rng):
    """The lesson 04 CNN, end to end (seeded so that no ReLU input sits within eps of its kink)."""
    model = Sequential([Embedding(9, 4, rng=rng, dtype=F64), Conv1D(4, 6, 3, rng=rng, dtype=F64), ReLU(),
                        GlobalMaxPool1D(), Dense(6, 9, rng=rng, dtype=F64)])
    ids, targets = rng.integers(0, 9, (5, 7)), rng.integers(0, 9, 5)
    assert_small("Embedding-Conv1D-ReLU-MaxPool-Dense",
                 check_model_gradients(model, softmax_cross_entropy, ids, targets))


@pytest.mark.parametrize("N", [1, 2])  # N=1: a transposed view is already contiguous, so copy explicitly
def test_outputs_never_alias_the_reused_work_arrays(rng, N):
    """The LSTM reuses its work arrays between calls; what it returns must stay as it was."""
    layer = LSTM(3, 4, dtype=F64, rng=rng)
    x1, x2 = rng.standard_normal((N, 5, 3)), rng.standard_normal((N, 5, 3))
    y1, (h1, c1) = layer.forward(x1, return_state=True)
    kept = y1.copy(), h1.copy(), c1.copy()
    dx1 = layer.backward(np.ones_like(y1))
    dx1_kept = dx1.copy()
    layer.forward(x2)
    layer.backward(np.ones_like(y1))
    for a, b in zip((y1, h1, c1, dx1), (*kept, dx1_kept)):
        np.testing.assert_array_equal(a, b)
