"""A container that chains layers."""

from __future__ import annotations

from .base import Layer


class Sequential(Layer):
    """``Sequential([Embedding(...), Conv1D(...), ReLU(), ...])``: forward in order, backward in reverse.

    ``params`` and ``grads`` gather every layer's arrays under keys ``"<index>.<name>"``
    (e.g. ``"0.W"``); they are the layers' own arrays, not copies, so an optimizer that
    updates ``model.params`` in place trains the layers.
    """

    def __init__(self, layers):
        layers = list(layers)
        for k, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise ValueError(f"Sequential: item {k} is a {type(layer).__name__}, expected a Layer")
        self.layers = layers

    @property
    def params(self):
        return {f"{k}.{name}": p for k, layer in enumerate(self.layers) for name, p in layer.params.items()}

    @property
    def grads(self):
        return {f"{k}.{name}": g for k, layer in enumerate(self.layers) for name, g in layer.grads.items()}

    def zero_grad(self) -> None:
        for layer in self.layers:
            layer.zero_grad()

    def forward(self, x, training: bool = True):
        for layer in self.layers:
            x = layer.forward(x, training=training)
        return x

    def backward(self, dy):
        for layer in reversed(self.layers):
            dy = layer.backward(dy)
        return dy

    def __getitem__(self, k):
        return self.layers[k]

    def __len__(self):
        return len(self.layers)

    def __repr__(self) -> str:
        inner = "\n".join(f"  ({k}) {layer!r}" for k, layer in enumerate(self.layers))
        return f"Sequential(\n{inner}\n)"
