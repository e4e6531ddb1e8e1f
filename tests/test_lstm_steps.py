"""The readable LSTM step functions: a float64 gradient check of each step, the same numbers as the fast
layer over several steps (to 1e-12) and as torch autograd (to 1e-10), with non-zero biases and states."""

import numpy as np
import pytest
import torch

from course_utils import LSTM, numerical_gradient, rel_error
from course_utils.layers.lstm import lstm_step_backward, lstm_step_forward


def random_step(rng, N=3, D=4, H=5):
    """Inputs of one step, every array random (biases and states included, so none hides a bug)."""
    return dict(x=rng.standard_normal((N, D)), h_prev=rng.standard_normal((N, H)),
                c_prev=rng.standard_normal((N, H)), W_x=rng.standard_normal((D, 4 * H)) * 0.5,
                W_h=rng.standard_normal((H, 4 * H)) * 0.5, b=rng.standard_normal(4 * H))


def test_step_backward_matches_centred_differences(rng):
    arrays = random_step(rng)
    dh, dc = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))

    def loss():
        h, c, _ = lstm_step_forward(**arrays)
        return float(np.sum(h * dh) + np.sum(c * dc))       # the gradients at h and c are dh and dc

    _, _, cache = lstm_step_forward(**arrays)
    analytic = dict(zip(("x", "h_prev", "c_prev", "W_x", "W_h", "b"), lstm_step_backward(dh, dc, cache)))
    for name, grad in analytic.items():
        assert grad.shape == arrays[name].shape
        assert rel_error(grad, numerical_gradient(loss, arrays[name])) < 1e-7, name


def test_a_wrong_backward_fails_the_check(rng):
    # The check above can fail: the forget gate's derivative left out is caught.
    arrays = random_step(rng)
    dh, dc = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))

    def loss():
        h, c, _ = lstm_step_forward(**arrays)
        return float(np.sum(h * dh) + np.sum(c * dc))

    _, _, cache = lstm_step_forward(**arrays)
    _, _, dc_prev, *_ = lstm_step_backward(dh, dc, cache)
    f = cache[6]
    assert rel_error(dc_prev / f, numerical_gradient(loss, arrays["c_prev"])) > 1e-2


@pytest.mark.parametrize("block_numbers", [LSTM.BLOCK_NUMBERS, 1, 2 * 3 * 4 * 5])
def test_the_steps_equal_the_fast_layer_over_several_steps(rng, monkeypatch, block_numbers):
    # The fast backward goes back in blocks of steps: one block, blocks of one step, blocks of two
    monkeypatch.setattr(LSTM, "BLOCK_NUMBERS", block_numbers)
    N, T, D, H = 3, 6, 4, 5
    layer = LSTM(D, H, rng=rng, dtype=np.float64)
    layer.params["b"][...] = rng.standard_normal(4 * H)
    x = rng.standard_normal((N, T, D))
    h0, c0 = rng.standard_normal((N, H)), rng.standard_normal((N, H))
    dy, dh_T, dc_T = rng.standard_normal((N, T, H)), rng.standard_normal((N, H)), rng.standard_normal((N, H))

    y, (h_T, c_T) = layer.forward(x, initial_state=(h0, c0), return_state=True)
    dx = layer.backward(dy, d_final_state=(dh_T, dc_T))

    h, c, caches, hs = h0, c0, [], []
    for t in range(T):
        h, c, cache = lstm_step_forward(x[:, t], h, c, **layer.params)
        caches.append(cache)
        hs.append(h)
    np.testing.assert_allclose(np.stack(hs, axis=1), y, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h, h_T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(c, c_T, rtol=1e-12, atol=1e-12)

    dh_next, dc_next = dh_T, dc_T
    grads = {k: np.zeros_like(v) for k, v in layer.params.items()}
    dxs = [None] * T
    for t in reversed(range(T)):
        dxs[t], dh_next, dc_next, dW_x, dW_h, db = lstm_step_backward(dh_next + dy[:, t], dc_next, caches[t])
        grads["W_x"] += dW_x
        grads["W_h"] += dW_h
        grads["b"] += db
    np.testing.assert_allclose(np.stack(dxs, axis=1), dx, rtol=1e-12, atol=1e-12)
    for name in grads:
        np.testing.assert_allclose(grads[name], layer.grads[name], rtol=1e-12, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(dh_next, layer.d_initial_state[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dc_next, layer.d_initial_state[1], rtol=1e-12, atol=1e-12)


def test_the_step_equals_torch_autograd(rng):
    arrays = random_step(rng)
    H = arrays["h_prev"].shape[1]
    dh, dc = rng.standard_normal((3, H)), rng.standard_normal((3, H))
    cell = torch.nn.LSTMCell(4, H).double()
    with torch.no_grad():                       # PyTorch keeps the weights transposed and two biases
        cell.weight_ih.copy_(torch.from_numpy(arrays["W_x"].T))
        cell.weight_hh.copy_(torch.from_numpy(arrays["W_h"].T))
        cell.bias_ih.copy_(torch.from_numpy(arrays["b"]))
        cell.bias_hh.zero_()
    inputs = {k: torch.tensor(arrays[k], requires_grad=True) for k in ("x", "h_prev", "c_prev")}
    h_t, c_t = cell(inputs["x"], (inputs["h_prev"], inputs["c_prev"]))
    ((h_t * torch.from_numpy(dh)).sum() + (c_t * torch.from_numpy(dc)).sum()).backward()

    h, c, cache = lstm_step_forward(**arrays)
    np.testing.assert_allclose(h, h_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(c, c_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    dx, dh_prev, dc_prev, dW_x, dW_h, db = lstm_step_backward(dh, dc, cache)
    expected = {"x": dx, "h_prev": dh_prev, "c_prev": dc_prev}
    for name, grad in expected.items():
        np.testing.assert_allclose(grad, inputs[name].grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(dW_x, cell.weight_ih.grad.numpy().T, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dW_h, cell.weight_hh.grad.numpy().T, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(db, cell.bias_ih.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("bad, match", [
    (dict(x=np.zeros((3, 4), dtype=np.int64)), "float"),
    (dict(h_prev=np.zeros((2, 5))), r"h_prev.*\(3, 5\)"),
    (dict(W_x=np.zeros((4, 19))), r"W_x.*\(4, 20\)"),
])
def test_bad_shapes_and_dtypes_are_named(rng, bad, match):
    arrays = {**random_step(rng), **bad}
    with pytest.raises(ValueError, match=match):
        lstm_step_forward(**arrays)
