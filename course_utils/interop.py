"""Copy weights between ``course_utils`` layers and ``torch.nn`` modules, both ways.

| course_utils           | torch.nn                                   |
|------------------------|--------------------------------------------|
| ``Dense.W (D, M)``     | ``Linear.weight (M, D)``, transposed        |
| ``Embedding.W (V, E)`` | ``Embedding.weight (V, E)``                 |
| ``Conv1D.W (k, C_in, C_out)`` | ``Conv1d.weight (C_out, C_in, k)``   |
| ``LSTM.W_x (D, 4H)``   | ``weight_ih_l0.T`` (same gate order i, f, g, o) |
| ``LSTM.W_h (H, 4H)``   | ``weight_hh_l0.T`` (same gate order i, f, g, o) |
| ``LSTM.b (4H,)``       | ``bias_ih_l0 + bias_hh_l0`` (see below)         |

``LSTM.b``: PyTorch adds two biases that always appear summed; copying to PyTorch puts ``b`` in
``bias_ih_l0`` and zeros in ``bias_hh_l0``.

PyTorch is imported only when these functions are called.
"""

from __future__ import annotations

import numpy as np

from .layers import LSTM, Conv1D, Dense, Embedding


def _torch():
    import torch
    return torch


def _check_module(layer, module):
    nn = _torch().nn
    kinds = {Dense: nn.Linear, Embedding: nn.Embedding, Conv1D: nn.Conv1d, LSTM: nn.LSTM}
    want = next((module_kind for kind, module_kind in kinds.items() if isinstance(layer, kind)), None)
    if want is None:
        raise ValueError(f"no torch counterpart for {type(layer).__name__}; expected one of "
                         f"{[k.__name__ for k in kinds]}")
    if not isinstance(module, want):
        raise ValueError(f"{type(layer).__name__} maps to torch.nn.{want.__name__}, "
                         f"got {type(module).__name__}")
    if isinstance(module, nn.Embedding) and module.padding_idx != layer.padding_idx:
        raise ValueError(f"Embedding padding_idx differs: layer {layer.padding_idx}, "
                         f"module {module.padding_idx} (the padding row's gradient would differ)")
    if isinstance(module, nn.Conv1d) and (module.stride != (1,) or module.padding != (0,)
                                          or module.dilation != (1,) or module.groups != 1):
        raise ValueError("Conv1D matches nn.Conv1d with stride 1, padding 0, dilation 1, groups 1 only")
    if isinstance(module, nn.LSTM) and (module.num_layers != 1 or module.bidirectional
                                        or not module.bias or module.proj_size != 0):
        raise ValueError("LSTM matches a one-layer, one-direction nn.LSTM with biases and no projection")


def _torch_views(layer, module) -> dict:
    """The torch parameters in this package's layout, as (tensor, to_torch, from_torch) per key."""
    if isinstance(layer, Dense):
        return {"W": (module.weight, lambda a: a.T, lambda t: t.T), "b": (module.bias, None, None)}
    if isinstance(layer, Embedding):
        return {"W": (module.weight, None, None)}
    if isinstance(layer, Conv1D):
        return {"W": (module.weight, lambda a: a.transpose(2, 1, 0), lambda t: t.permute(2, 1, 0)),
                "b": (module.bias, None, None)}
    return {"W_x": (module.weight_ih_l0, lambda a: a.T, lambda t: t.T),
            "W_h": (module.weight_hh_l0, lambda a: a.T, lambda t: t.T),
            "b": (module.bias_ih_l0, None, None)}


def copy_to_torch(layer, module) -> None:
    """Overwrite ``module``'s weights with ``layer``'s (shapes checked)."""
    _check_module(layer, module)
    torch = _torch()
    with torch.no_grad():
        for key, (tensor, to_torch, _) in _torch_views(layer, module).items():
            value = layer.params[key] if to_torch is None else to_torch(layer.params[key])
            if tuple(value.shape) != tuple(tensor.shape):
                raise ValueError(f"{key}: layer gives shape {tuple(value.shape)}, "
                                 f"module expects {tuple(tensor.shape)}")
            tensor.copy_(torch.from_numpy(np.ascontiguousarray(value)))
        if isinstance(layer, LSTM):
            module.bias_hh_l0.zero_()


def copy_from_torch(module, layer) -> None:
    """Overwrite ``layer``'s parameters (in place) with ``module``'s weights."""
    _check_module(layer, module)
    for key, value in _torch_numpy(module, layer, grads=False).items():
        if value.shape != layer.params[key].shape:
            raise ValueError(f"{key}: module gives shape {value.shape}, "
                             f"layer expects {layer.params[key].shape}")
        layer.params[key][...] = value


def torch_grads(module, layer) -> dict:
    """The gradients PyTorch computed (``.grad``), in the layer's layout and keys, as NumPy arrays.

    For the LSTM, ``b``'s gradient is ``bias_ih_l0.grad`` (equal to ``bias_hh_l0.grad``).
    """
    _check_module(layer, module)
    return _torch_numpy(module, layer, grads=True)


def _torch_numpy(module, layer, grads: bool) -> dict:
    out = {}
    for key, (tensor, _, from_torch) in _torch_views(layer, module).items():
        t = tensor.grad if grads else tensor.detach()
        if t is None:
            raise ValueError(f"torch parameter for {key!r} has no gradient: call loss.backward() first")
        if from_torch is not None:
            t = from_torch(t)
        value = t.detach().cpu().numpy().copy()
        if isinstance(layer, LSTM) and key == "b" and not grads:
            value = value + module.bias_hh_l0.detach().cpu().numpy()
        out[key] = value
    return out


def to_torch(layer):
    """A new ``torch.nn`` module of the matching kind, size and dtype, holding ``layer``'s weights."""
    torch = _torch()
    nn = torch.nn
    if isinstance(layer, Dense):
        module = nn.Linear(layer.in_features, layer.out_features)
    elif isinstance(layer, Embedding):
        module = nn.Embedding(layer.num_embeddings, layer.embedding_dim, padding_idx=layer.padding_idx)
    elif isinstance(layer, Conv1D):
        module = nn.Conv1d(layer.in_channels, layer.out_channels, layer.kernel_size)
    elif isinstance(layer, LSTM):
        module = nn.LSTM(layer.input_size, layer.hidden_size, batch_first=True)
    else:
        raise ValueError(f"no torch counterpart for {type(layer).__name__}")
    module = module.to(torch.float64 if layer.dtype == np.float64 else torch.float32)
    copy_to_torch(layer, module)
    return module
