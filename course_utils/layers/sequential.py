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
        """Every layer's parameters as ``{"<index>.<name>": array}`` (the layers' own arrays)."""
        return {f"{k}.{name}": p for k, layer in enumerate(self.layers) for name, p in layer.params.items()}

    @property
    def grads(self):
        """Every layer's current gradients as ``{"<index>.<name>": array}``; rebuilt at each access."""
        return {f"{k}.{name}": g for k, layer in enumerate(self.layers) for name, g in layer.grads.items()}

    def zero_grad(self) -> None:
        """Call ``zero_grad`` on every layer."""
        for layer in self.layers:
            layer.zero_grad()

    def forward(self, x, training: bool = True):
        """Run every layer's ``forward`` in order.

        Inputs:
        - x: the first layer's input, e.g. int ids (N, T) for an Embedding or (N, T, D) float.
        - training: passed to every layer (False switches Dropout off).

        Returns:
        - y: the last layer's output.
        """
        for layer in self.layers:
            x = layer.forward(x, training=training)
        return x

    def backward(self, dy):
        """Run every layer's ``backward`` in reverse order, filling each layer's ``grads``.

        Inputs:
        - dy: gradient w.r.t. the last layer's output, of the same shape.

        Returns:
        - dx: gradient w.r.t. the model's input (None when the first layer is an Embedding).
        """
        for layer in reversed(self.layers):
            dy = layer.backward(dy)
        return dy

    def __getitem__(self, k):
        """``self.layers[k]``: the layer at index ``k``."""
        return self.layers[k]

    def __len__(self):
        """The number of layers."""
        return len(self.layers)

    def __repr__(self) -> str:
        inner = "\n".join(f"  ({k}) {layer!r}" for k, layer in enumerate(self.layers))
        return f"Sequential(\n{inner}\n)"
