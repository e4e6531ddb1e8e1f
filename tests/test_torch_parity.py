"""Parity with PyTorch: same weights (non-zero biases), same inputs, float64.

Outputs and every parameter and input gradient must agree to 1e-6 relative
(``assert_allclose(rtol=1e-6, atol=1e-12)``); in practice they agree to ~1e-15.
"""

import numpy as np
import pytest
import torch

from course_utils import LSTM, Conv1D, Dense, Embedding
from course_utils.interop import copy_from_torch, copy_to_torch, to_torch, torch_grads

RTOL, ATOL = 1e-6, 1e-12


def close(ours, theirs, what):
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else theirs
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL, err_msg=what)


def randomize(module, rng):
    """Replace PyTorch's init by N(0, 0.5) everywhere, so that every bias is clearly non-zero."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.from_numpy(0.5 * rng.standard_normal(tuple(p.shape))))
    return module


def check_params_and_grads(module, layer):
    ours, theirs = layer.grads, torch_grads(module, layer)
    assert ours.keys() == theirs.keys()
    for key in ours:
        close(ours[key], theirs[key], f"gradient of {key}")


@pytest.mark.parametrize("shape,M", [((5, 4), 3), ((2, 6, 7), 5), ((1, 1), 1)])
def test_dense(rng, shape, M):
    module = randomize(torch.nn.Linear(shape[-1], M).double(), rng)
    layer = Dense(shape[-1], M, dtype=np.float64)
    copy_from_torch(module, layer)
    x = rng.standard_normal(shape)
    xt = torch.tensor(x, requires_grad=True)
    y, yt = layer.forward(x), module(xt)
    close(y, yt, "output")
    dy = rng.standard_normal(y.shape)
    yt.backward(torch.tensor(dy))
    close(layer.backward(dy), xt.grad, "input gradient")
    check_params_and_grads(module, layer)


@pytest.mark.parametrize("padding_idx", [None, 0])
@pytest.mark.parametrize("shape,V,E", [((4, 6), 10, 3), ((7,), 5, 8)])
def test_embedding(rng, shape, V, E, padding_idx):
    module = randomize(torch.nn.Embedding(V, E, padding_idx=padding_idx).double(), rng)
    layer = Embedding(V, E, padding_idx=padding_idx, dtype=np.float64)
    copy_from_torch(module, layer)
    ids = rng.integers(0, V, shape)
    ids.flat[:3] = ids.flat[0]  # repeated ids must accumulate their gradients
    yt = module(torch.from_numpy(ids))
    y = layer.forward(ids)
    close(y, yt, "output")
    dy = rng.standard_normal(y.shape)
    yt.backward(torch.tensor(dy))
    assert layer.backward(dy) is None
    check_params_and_grads(module, layer)


@pytest.mark.parametrize("N,T,C_in,C_out,k",
                         [(2, 7, 3, 4, 3), (3, 5, 6, 2, 1), (1, 4, 2, 3, 4), (4, 12, 8, 5, 5)])
def test_conv1d(rng, N, T, C_in, C_out, k):
    module = randomize(torch.nn.Conv1d(C_in, C_out, k).double(), rng)
    layer = Conv1D(C_in, C_out, k, dtype=np.float64)
    copy_from_torch(module, layer)
    x = rng.standard_normal((N, T, C_in))
    xt = torch.tensor(x, requires_grad=True)
    yt = module(xt.transpose(1, 2)).transpose(1, 2)  # channels-last in, channels-last out
    y = layer.forward(x)
    close(y, yt, "output")
    dy = rng.standard_normal(y.shape)
    yt.backward(torch.tensor(dy))
    close(layer.backward(dy), xt.grad, "input gradient")
    check_params_and_grads(module, layer)


@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("N,T,D,H", [(3, 5, 4, 6), (1, 1, 2, 3), (4, 9, 7, 2)])
@pytest.mark.parametrize("with_state", [True, False])
def test_lstm(rng, N, T, D, H, return_sequences, with_state):
    module = randomize(torch.nn.LSTM(D, H, batch_first=True).double(), rng)
    assert not torch.equal(module.bias_ih_l0, module.bias_hh_l0)  # two different non-zero biases
    layer = LSTM(D, H, return_sequences=return_sequences, dtype=np.float64)
    copy_from_torch(module, layer)

    x = rng.standard_normal((N, T, D))
    xt = torch.tensor(x, requires_grad=True)
    if with_state:
        h0, c0 = rng.standard_normal((N, H)), rng.standard_normal((N, H))
        h0t, c0t = (torch.tensor(s[None], requires_grad=True) for s in (h0, c0))  # torch: (layers, N, H)
        yt, (hT_t, cT_t) = module(xt, (h0t, c0t))
        y, (hT, cT) = layer.forward(x, initial_state=(h0, c0), return_state=True)
    else:
        yt, (hT_t, cT_t) = module(xt)
        y, (hT, cT) = layer.forward(x, return_state=True)
    if not return_sequences:
        yt = yt[:, -1]
    close(y, yt, "output")
    close(hT, hT_t[0], "final h")
    close(cT, cT_t[0], "final c")

    dy, dh, dc = rng.standard_normal(y.shape), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    loss = ((yt * torch.tensor(dy)).sum() + (hT_t[0] * torch.tensor(dh)).sum()
            + (cT_t[0] * torch.tensor(dc)).sum())
    loss.backward()
    close(layer.backward(dy, d_final_state=(dh, dc)), xt.grad, "input gradient")
    check_params_and_grads(module, layer)
    close(layer.grads["b"], module.bias_hh_l0.grad, "b vs bias_hh")  # PyTorch's two biases get one gradient
    if with_state:
        close(layer.d_initial_state[0], h0t.grad[0], "gradient of h0")
        close(layer.d_initial_state[1], c0t.grad[0], "gradient of c0")


@pytest.mark.parametrize("make", [lambda: Dense(4, 3), lambda: Embedding(6, 2, padding_idx=1),
                                  lambda: Conv1D(3, 5, 2), lambda: LSTM(3, 4)])
def test_round_trip_and_to_torch(make):
    layer, other = make(), make()
    module = to_torch(layer)
    assert next(module.parameters()).dtype == torch.float32
    copy_from_torch(module, other)
    for key in layer.params:
        np.testing.assert_allclose(other.params[key], layer.params[key], rtol=1e-6, atol=1e-7, err_msg=key)
    with torch.no_grad():
        for p in module.parameters():
            p.zero_()
    copy_to_torch(other, module)  # and back again: the module gets the weights back
    copy_from_torch(module, layer)
    for key in layer.params:
        np.testing.assert_allclose(layer.params[key], other.params[key], rtol=1e-6, atol=1e-7, err_msg=key)
    assert any(np.abs(p).sum() > 0 for p in layer.params.values())


def test_wrong_module_kind_is_refused():
    with pytest.raises(ValueError, match="Dense maps to torch.nn.Linear"):
        copy_to_torch(Dense(3, 2), torch.nn.Conv1d(3, 2, 1))
    with pytest.raises(ValueError, match="shape"):
        copy_from_torch(torch.nn.Linear(3, 4), Dense(3, 2))
    with pytest.raises(ValueError, match="one-layer"):
        copy_to_torch(LSTM(3, 2), torch.nn.LSTM(3, 2, num_layers=2))
    with pytest.raises(ValueError, match="stride 1"):
        copy_to_torch(Conv1D(3, 2, 3), torch.nn.Conv1d(3, 2, 3, padding=1))
    with pytest.raises(ValueError, match="padding_idx differs"):
        copy_to_torch(Embedding(5, 2, padding_idx=0), torch.nn.Embedding(5, 2))
    with pytest.raises(ValueError, match="no gradient"):
        torch_grads(torch.nn.Linear(3, 2), Dense(3, 2))
