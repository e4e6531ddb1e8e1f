"""Lesson 06: lesson 05's CNN + LSTM as a ``torch.nn.Module``, loaded from the NumPy weights
(and, with ``num_classes``, lesson 09's sentence classifier).

    numpy_model, vocab, config = load_model("data/models/05_cnn_lstm_weights.npz")   # next_word.models
    net = CNNLSTMTorch.from_numpy(numpy_model)          # the same weights, the same head, the same dtype
    net.eval()                                          # dropout off
    logits = net(torch.from_numpy(X))                   # (N, V) = numpy_model.forward(X, training=False)
    predict_next(TorchPredictor(net), vocab, ["breast", "cancer"])   # seq_len + predict_proba

The model, for a batch of ``N`` contexts of ``T`` word ids (``T' = T - k + 1``)::

    X (N, T) int64 -> nn.Embedding -> (N, T, E) [-> nn.Dropout] -> permute -> (N, E, T)  channels first
      -> nn.Conv1d(E, F, k) -> (N, F, T') -> ReLU -> permute -> (N, T', F)  batch-first again for the LSTM
      -> nn.LSTM(F, H, batch_first=True) -> (N, T', H)                      the hidden state at every step
      -> head: "max" = max over the T' steps, "last" = the last step -> (N, H)
      -> nn.Dropout -> nn.Linear(H, C) -> logits (N, C)                     no softmax here

``C = num_classes``: by default ``vocab_size`` (the next word, lessons 05 and 06); lesson 09 sets
``num_classes=4`` to sort whole sentences into its four topics with the same layers.

``head="max"`` is the architecture of lesson 06 as the course design sketches it; ``head="last"``
is the one lesson 05 chose on its validation split and saved. The weights have the same shapes
either way, so one file loads into both; only ``head="last"`` reproduces lesson 05's outputs.
A classifier (``num_classes != vocab_size``) has no NumPy twin: ``to_numpy`` refuses it.

The weights are copied with :mod:`course_utils.interop` (which transposes the Conv1D kernel and
the Dense and LSTM matrices; the LSTM's one bias ``b`` goes to ``bias_ih_l0``, ``bias_hh_l0`` is
zero, and PyTorch adds the two).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from course_utils.interop import copy_from_torch, copy_to_torch
from course_utils.layers import LSTM, Conv1D, Dense, Embedding
from course_utils.lessons.next_word.models import CNNLSTMNextWord, log_word_frequencies
from course_utils.optim import weight_decay_by_name

HEADS = ("max", "last")


def _check_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
    return int(value)


class CNNLSTMTorch(nn.Module):
    """``Embedding -> Conv1d -> ReLU -> LSTM -> (max over time | last step) -> Dropout -> Linear``.

    The sizes and their defaults are those of
    :class:`course_utils.lessons.next_word.models.CNNLSTMNextWord`, and
    :meth:`config` returns the same keys, so ``build_model(net.config())``
    builds the NumPy twin. ``forward`` returns logits; ``TorchPredictor`` adds the softmax.
    The ``<PAD>`` row of the embedding is an ordinary learned row, as in lesson 05.

    ``num_classes``: the size of the output, ``C``. ``None`` (the default) means ``vocab_size``: one
    logit per word of the vocabulary, the next-word model. Any other size makes a classifier of the
    whole context (lesson 09: ``num_classes=4``); its ``config()`` then also holds ``num_classes``.
    """

    architecture = "cnn_lstm"

    def __init__(self, vocab_size: int, seq_len: int, *, embed_dim: int = 32, filters: int = 64,
                 kernel_size: int = 3, hidden_size: int = 64, head: str = "max", dropout: float = 0.5,
                 embed_dropout: float = 0.0, num_classes: int | None = None):
        super().__init__()
        vocab_size, seq_len = _check_int(vocab_size, "vocab_size"), _check_int(seq_len, "seq_len")
        embed_dim, filters = _check_int(embed_dim, "embed_dim"), _check_int(filters, "filters")
        kernel_size = _check_int(kernel_size, "kernel_size")
        hidden_size = _check_int(hidden_size, "hidden_size")
        num_classes = vocab_size if num_classes is None else _check_int(num_classes, "num_classes")
        if kernel_size > seq_len:
            raise ValueError(f"kernel_size={kernel_size} is longer than the context seq_len={seq_len}")
        if head not in HEADS:
            raise ValueError(f"head: expected 'max' (max over time) or 'last' (last LSTM state), "
                             f"got {head!r}")
        for name, p in (("dropout", dropout), ("embed_dropout", embed_dropout)):
            if not 0.0 <= p < 1.0:
                raise ValueError(f"{name}: expected a probability in [0, 1), got {p!r}")
        self.vocab_size, self.seq_len, self.head, self.num_classes = vocab_size, seq_len, head, num_classes
        self.embedding = nn.Embedding(vocab_size, embed_dim)           # (N, T) -> (N, T, E)
        self.embed_dropout = nn.Dropout(embed_dropout)                 # on the word vectors (training only)
        self.conv = nn.Conv1d(embed_dim, filters, kernel_size)         # (N, E, T) -> (N, F, T')
        self.relu = nn.ReLU()
        self.lstm = nn.LSTM(filters, hidden_size, batch_first=True)    # (N, T', F) -> (N, T', H)
        self.dropout = nn.Dropout(dropout)
        self.dense = nn.Linear(hidden_size, num_classes)               # (N, H) -> (N, C)

    def forward(self, X):
        """``X (N, seq_len)`` integer ids (tensor or array) -> logits ``(N, C)``, ``C = num_classes``."""
        X = self._check_ids(X)
        x = self.embed_dropout(self.embedding(X))     # (N, T, E)
        x = self.conv(x.permute(0, 2, 1))             # (N, E, T) -> (N, F, T')
        x = self.relu(x).permute(0, 2, 1)             # (N, T', F)
        out, _ = self.lstm(x)                         # (N, T', H); the final (h, c) are not needed
        if self.head == "max":
            h = out.max(dim=1).values                 # (N, H): each unit's largest value over the T' steps
        else:
            h = out[:, -1]                            # (N, H): the state after the last step
        return self.dense(self.dropout(h))            # (N, C) logits

    def _check_ids(self, X) -> torch.Tensor:
        if isinstance(X, np.ndarray):
            X = torch.from_numpy(X)
        if not isinstance(X, torch.Tensor):
            raise ValueError(  # noqa: TRY004 (the course raises ValueError for all bad input)
                f"X: expected a tensor or array of word ids, got {type(X).__name__}")
        if X.ndim != 2 or X.shape[1] != self.seq_len or X.dtype not in (torch.int64, torch.int32):
            raise ValueError(f"X: expected integer ids of shape (N, {self.seq_len}), "
                             f"got shape {tuple(X.shape)} and dtype {X.dtype}")
        if X.numel() and (int(X.min()) < 0 or int(X.max()) >= self.vocab_size):
            raise ValueError(f"X: expected ids in [0, {self.vocab_size}), "
                             f"got {int(X.min())} to {int(X.max())}")
        return X

    @property
    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def config(self) -> dict:
        """The keys of ``CNNLSTMNextWord.config()``: enough to build either twin again.

        A classifier (``num_classes != vocab_size``) adds ``num_classes``; a next-word model leaves it out,
        so its config stays the NumPy twin's, key for key.
        """
        config = {"architecture": self.architecture, "vocab_size": self.vocab_size, "seq_len": self.seq_len,
                  "embed_dim": self.embedding.embedding_dim, "filters": self.conv.out_channels,
                  "kernel_size": self.conv.kernel_size[0], "hidden_size": self.lstm.hidden_size,
                  "head": self.head, "dropout": float(self.dropout.p),
                  "embed_dropout": float(self.embed_dropout.p)}
        if self.num_classes != self.vocab_size:
            config["num_classes"] = self.num_classes
        return config

    # ------------------------------------------------------------ lesson 05's training recipe

    def readable_params(self) -> dict[str, list[nn.Parameter]]:
        """The parameters under the names of lesson 05's weight file (``"dense.W"``: ``dense.weight``, ...).

        ``"lstm.b"`` is the NumPy LSTM's one bias: here the two that PyTorch adds, ``bias_ih_l0`` and
        ``bias_hh_l0``. Every other name is one parameter. (Both biases get the NumPy bias's gradient,
        and Adam moves each by a full step: their sum learns twice as fast as the NumPy bias.)
        """
        lstm = self.lstm
        return {"embedding.W": [self.embedding.weight], "conv.W": [self.conv.weight],
                "conv.b": [self.conv.bias], "lstm.W_x": [lstm.weight_ih_l0], "lstm.W_h": [lstm.weight_hh_l0],
                "lstm.b": [lstm.bias_ih_l0, lstm.bias_hh_l0], "dense.W": [self.dense.weight],
                "dense.b": [self.dense.bias]}

    def param_groups(self, weight_decay: float | dict | None = None) -> list[dict]:
        """``torch.optim`` parameter groups for an L2 penalty by readable name, as lesson 05's
        ``Adam(weight_decay=decay_by_key(model, {"dense.W": 1e-4, ...}))``: one group per strength,
        and every parameter not named in a group with ``weight_decay`` 0 (a number: every parameter).

            torch.optim.Adam(net.param_groups({"dense.W": 1e-4}), lr=1e-3)
        """
        named = self.readable_params()
        given = weight_decay_by_name({} if weight_decay is None else weight_decay, named)
        strengths = {name: given.get(name, 0.0) for name in named}
        return [{"params": [p for name in named if strengths[name] == wd for p in named[name]],
                 "weight_decay": wd} for wd in sorted(set(strengths.values()))]

    def start_from_word_frequencies(self, Y_train) -> None:
        """The output bias at the log add-one frequencies of the training targets, as
        ``CNNLSTMNextWord.start_from_word_frequencies`` (next-word models only)."""
        if self.num_classes != self.vocab_size:
            raise ValueError(f"start_from_word_frequencies: expected a next-word model (num_classes == "
                             f"vocab_size), got a classifier with num_classes={self.num_classes} and "
                             f"vocab_size={self.vocab_size}")
        with torch.no_grad():
            self.dense.bias.copy_(torch.from_numpy(log_word_frequencies(Y_train, self.vocab_size)))

    # ------------------------------------------------------------ the NumPy twin, both ways

    @classmethod
    def from_numpy(cls, model: CNNLSTMNextWord, *, head: str | None = None) -> CNNLSTMTorch:
        """A module holding ``model``'s weights, in ``model``'s dtype (float32 or float64).

        ``head``: by default ``model.head``; another head gives a different model with the same
        weights (its outputs then differ from ``model``'s).
        """
        if not isinstance(model, CNNLSTMNextWord):
            raise ValueError(  # noqa: TRY004 (the course raises ValueError for all bad input)
                f"model: expected a CNNLSTMNextWord (lesson 05), got {type(model).__name__}")
        config = {**model.config(), "head": model.head if head is None else head}
        net = cls(**_sizes(config))
        layers = _numpy_layers(model)
        if layers["embedding"].padding_idx is not None:
            raise ValueError("model: an Embedding with a padding_idx is not supported (lesson 05 has none)")
        net = net.to(torch.float64 if layers["dense"].dtype == np.float64 else torch.float32)
        for name, layer in layers.items():
            copy_to_torch(layer, getattr(net, name))
        return net

    def to_numpy(self) -> CNNLSTMNextWord:
        """The NumPy twin (``course_utils.lessons.next_word.models.CNNLSTMNextWord``)
        with this module's weights. Next-word models only: a classifier has no twin."""
        if self.num_classes != self.vocab_size:
            raise ValueError(f"to_numpy: a classifier (num_classes={self.num_classes}, vocab_size="
                             f"{self.vocab_size}) has no NumPy twin; CNNLSTMNextWord predicts the next word")
        dtype = np.float64 if self.dense.weight.dtype == torch.float64 else np.float32
        model = CNNLSTMNextWord(**_sizes(self.config()), rng=np.random.default_rng(0), dtype=dtype)
        for name, layer in _numpy_layers(model).items():
            copy_from_torch(getattr(self, name), layer)
        return model


def _sizes(config: dict) -> dict:
    keys = ("vocab_size", "seq_len", "embed_dim", "filters", "kernel_size", "hidden_size", "head", "dropout")
    return {**{k: config[k] for k in keys}, "embed_dropout": config.get("embed_dropout", 0.0)}


def _numpy_layers(model: CNNLSTMNextWord) -> dict:
    """``{"embedding": Embedding, "conv": Conv1D, "lstm": LSTM, "dense": Dense}``: the module's names."""
    kinds = {"embedding": Embedding, "conv": Conv1D, "lstm": LSTM, "dense": Dense}
    found = {name: [x for x in model.net.layers if isinstance(x, kind)] for name, kind in kinds.items()}
    if any(len(layers) != 1 for layers in found.values()):
        names = [type(x).__name__ for x in model.net.layers]
        raise ValueError(f"model: expected one Embedding, Conv1D, LSTM and Dense layer each, got {names}")
    return {name: layers[0] for name, layers in found.items()}


class TorchPredictor:
    """A torch module that maps ids ``(N, seq_len)`` to logits ``(N, C)`` (``C = V`` words for the next-word
    model, ``num_classes`` for a classifier), seen through the protocol of
    ``course_utils.text.predict_next``: a ``seq_len`` attribute and ``predict_proba``.

    Both methods run the module in evaluation mode (dropout off) without building a graph, in
    batches, and put the module back in the mode it was in.
    """

    def __init__(self, module: nn.Module, seq_len: int | None = None, batch_size: int = 2048):
        seq_len = getattr(module, "seq_len", None) if seq_len is None else seq_len
        if seq_len is None:
            raise ValueError("TorchPredictor: the module has no seq_len attribute; pass seq_len=...")
        self.module, self.seq_len = module, _check_int(seq_len, "seq_len")
        self.batch_size = _check_int(batch_size, "batch_size")

    def logits(self, X) -> np.ndarray:
        """``X (N, seq_len)`` int -> logits ``(N, C)`` as a NumPy array, in the module's dtype.

        ``X`` goes to the module's device and the logits come back to the CPU.
        """
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.seq_len or X.dtype.kind not in "iu":
            raise ValueError(f"X: expected integer ids of shape (N, {self.seq_len}), got shape {X.shape} "
                             f"and dtype {X.dtype}")
        device = next(self.module.parameters()).device   # the module's device (the GPU, if it is there)
        X = torch.from_numpy(X.astype(np.int64, copy=False)).to(device)
        was_training = self.module.training
        self.module.eval()
        try:
            with torch.no_grad():
                out = [self.module(X[i:i + self.batch_size]) for i in range(0, len(X), self.batch_size)]
        finally:
            self.module.train(was_training)
        if not out:
            raise ValueError("X: expected at least one context, got 0")
        return torch.cat(out).cpu().numpy()

    def predict_proba(self, X) -> np.ndarray:
        """``X (N, seq_len)`` -> probabilities ``(N, C)`` float64, rows summing to 1.

        The softmax is taken in float64 (``exp(log_softmax)``), as ``CNNLSTMNextWord.predict_proba``
        does, so that no probability underflows to zero.
        """
        logits = torch.from_numpy(self.logits(X).astype(np.float64))
        return torch.log_softmax(logits, dim=1).exp().numpy()
