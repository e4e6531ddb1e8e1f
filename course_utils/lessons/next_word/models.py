"""Next-word prediction (lessons 04-06): the CNN and the CNN + LSTM in NumPy, and their weight file.

The models map contexts ``X (N, seq_len)`` int to logits ``(N, V)``; ``predict_proba`` applies the one
softmax. The weight file's keys are listed in the docstring of :mod:`course_utils.lessons.next_word`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from course_utils.files import atomic_path
from course_utils.layers import (
    LSTM,
    Conv1D,
    Dense,
    Dropout,
    Embedding,
    GlobalMaxPool1D,
    PositionChannels,
    ReLU,
    Sequential,
)
from course_utils.lessons.next_word.corpus import check_ids
from course_utils.losses import log_softmax
from course_utils.metrics import check_targets
from course_utils.seeding import get_rng
from course_utils.text import check_vocab


def log_word_frequencies(Y_train, vocab_size: int) -> np.ndarray:
    """``(V,)`` float64: ``log((count(w) + 1) / (n + V))`` over the ``n`` training targets ``Y_train``.

    Add-one counts for every id, ``<PAD>`` included, so that every bias is finite. (``UnigramModel``
    gives ``<PAD>``, never a target, probability 0; the two differ by that one count.)
    """
    Y = check_targets(Y_train, vocab_size=vocab_size)
    if Y.size == 0:
        raise ValueError("log_word_frequencies: expected at least one training target, got none")
    counts = np.bincount(Y, minlength=vocab_size) + 1.0
    return np.log(counts / counts.sum())


class NextWordModel:
    """A ``Sequential`` of course layers that maps contexts ``X (N, seq_len)`` to logits ``(N, V)``.

    ``params``, ``grads``, ``forward``, ``backward`` and ``zero_grad`` are those of the
    ``Sequential`` (so ``course_utils.training.train``, the optimizers and ``check_model_gradients``
    work unchanged); ``predict_proba`` adds the softmax. Subclasses build ``self.net`` and name
    its parameters in ``self.param_names`` (readable name -> ``Sequential`` key) for the weight file.
    """

    architecture = ""

    def __init__(self, vocab_size: int, seq_len: int):
        for name, value in (("vocab_size", vocab_size), ("seq_len", seq_len)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
        if vocab_size < 3:
            raise ValueError(f"vocab_size: expected at least 3 (<PAD>, <UNK> and one word), got {vocab_size}")
        self.vocab_size, self.seq_len = int(vocab_size), int(seq_len)
        self.net: Sequential
        self.param_names: dict[str, str] = {}

    # The layer protocol, delegated to the Sequential.
    @property
    def params(self) -> dict:
        return self.net.params

    @property
    def grads(self) -> dict:
        return self.net.grads

    def zero_grad(self) -> None:
        self.net.zero_grad()

    def forward(self, X, training: bool = True):
        """``X (N, seq_len)`` int ids -> logits ``(N, V)`` (no softmax)."""
        return self.net.forward(check_ids(X, self.seq_len), training=training)

    def backward(self, dlogits):
        """``dlogits (N, V)`` -> fills ``grads``; returns ``None`` (ids have no gradient)."""
        return self.net.backward(dlogits)

    def predict_proba(self, X, batch_size: int = 2048) -> np.ndarray:
        """``X (N, seq_len)`` -> probabilities ``(N, V)`` float64, rows summing to 1 (evaluation mode).

        The softmax is taken in float64 (``exp(log_softmax)`` of the logits): float32 would round
        probabilities below about 1e-45 to zero, and the metrics take ``log p`` of the target's.
        """
        X = check_ids(X, self.seq_len)
        out = [np.exp(log_softmax(self.forward(X[i:i + batch_size], training=False).astype(np.float64)))
               for i in range(0, len(X), batch_size)]
        return np.concatenate(out) if out else np.zeros((0, self.vocab_size))

    def start_from_word_frequencies(self, Y_train) -> None:
        """Set the output bias to the log frequency of each word as a training target.

        ``Y_train (n,)`` int ids in ``[0, V)``. With add-one counts, ``b[w] = log((count(w) + 1) /
        (n + V))``. The softmax of the bias alone is then that frequency distribution, so the
        untrained model starts near the unigram baseline instead of at the uniform guess, and
        training does not spend its first steps learning how common each word is.
        """
        bias = self.net.params[self.param_names["dense.b"]]
        bias[...] = log_word_frequencies(Y_train, self.vocab_size)   # in place: an optimizer may hold it

    @property
    def n_params(self) -> int:
        return int(sum(p.size for p in self.params.values()))

    def named_params(self) -> dict[str, np.ndarray]:
        """The parameters under readable names (``"embedding.W"``, ...): the keys of the weight file."""
        return {name: self.net.params[key] for name, key in self.param_names.items()}

    def config(self) -> dict:
        """Everything needed to build the same model again (see :func:`build_model`)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        sizes = f"V={self.vocab_size}, seq_len={self.seq_len}, {self.n_params:,} parameters"
        return f"{type(self).__name__}({sizes})\n{self.net!r}"


class CNNNextWord(NextWordModel):
    """Lesson 04: ``Embedding -> Conv1D -> ReLU -> GlobalMaxPool1D -> Dense`` (logits).

    Shapes for a batch of ``N`` contexts::

        X (N, T) int  -> Embedding -> (N, T, E) [-> Dropout] [-> PositionChannels -> (N, T, E + T)]
                      -> Conv1D(k) -> (N, T-k+1, F) -> ReLU -> GlobalMaxPool1D -> (N, F)
                      [-> Dropout] -> Dense -> logits (N, V)

    Each of the ``F`` filters is a detector of one ``k``-word pattern; max pooling keeps the
    strongest match anywhere in the context, so the model knows *what* it saw, not *where*.
    ``positions=True`` appends a one-hot code of each word's slot to its vector
    (:class:`course_utils.layers.PositionChannels`), so that a filter can match "this word, in the
    last slot". ``embed_dropout`` (on the word vectors) and ``dropout`` (on the pooled features)
    are inverted dropout, active in training only; 0 leaves the layer out.
    """

    architecture = "cnn"

    def __init__(self, vocab_size: int, seq_len: int, *, embed_dim: int = 32, filters: int = 64,
                 kernel_size: int = 3, positions: bool = False, embed_dropout: float = 0.0,
                 dropout: float = 0.0, rng=None, dtype=np.float32):
        super().__init__(vocab_size, seq_len)
        if kernel_size > seq_len:
            raise ValueError(f"kernel_size={kernel_size} is longer than the context seq_len={seq_len}")
        if not isinstance(positions, (bool, np.bool_)):
            raise ValueError(f"positions: expected True or False, got {positions!r}")
        rng = get_rng(rng)
        # Plain ints (not NumPy integers from a search table), so that config() is valid JSON.
        self.embed_dim, self.filters, self.kernel_size = int(embed_dim), int(filters), int(kernel_size)
        self.positions, self.embed_dropout = bool(positions), float(embed_dropout)
        self.dropout = float(dropout)
        conv_in = embed_dim + (seq_len if positions else 0)
        layers = {"embedding": Embedding(vocab_size, embed_dim, rng=rng, dtype=dtype)}  # (N, T) -> (N, T, E)
        if embed_dropout:
            layers["embed_dropout"] = Dropout(embed_dropout, rng=rng)
        if positions:
            layers["positions"] = PositionChannels()                              # -> (N, T, E + T)
        layers["conv"] = Conv1D(conv_in, filters, kernel_size, rng=rng, dtype=dtype)  # -> (N, T-k+1, F)
        layers["relu"] = ReLU()
        layers["pool"] = GlobalMaxPool1D()                                        # -> (N, F)
        if dropout:
            layers["dropout"] = Dropout(dropout, rng=rng)
        layers["dense"] = Dense(filters, vocab_size, rng=rng, dtype=dtype)        # -> (N, V) logits
        self.net = Sequential(list(layers.values()))
        at = {name: i for i, name in enumerate(layers)}
        self.param_names = {"embedding.W": f"{at['embedding']}.W", "conv.W": f"{at['conv']}.W",
                            "conv.b": f"{at['conv']}.b", "dense.W": f"{at['dense']}.W",
                            "dense.b": f"{at['dense']}.b"}

    def config(self) -> dict:
        return {"architecture": self.architecture, "vocab_size": self.vocab_size, "seq_len": self.seq_len,
                "embed_dim": self.embed_dim, "filters": self.filters, "kernel_size": self.kernel_size,
                "positions": self.positions, "embed_dropout": self.embed_dropout, "dropout": self.dropout}


class CNNLSTMNextWord(NextWordModel):
    """Lesson 05: ``Embedding -> Conv1D -> ReLU -> LSTM -> (last step | max over time) -> Dropout -> Dense``.

    Shapes for a batch of ``N`` contexts, ``T' = T - k + 1``::

        X (N, T) int -> Embedding -> (N, T, E) -> Conv1D(k) -> (N, T', F) -> ReLU -> LSTM
          head="last" (default): -> h_T' (N, H), the hidden state after the last step
          head="max":            -> (N, T', H) -> GlobalMaxPool1D -> (N, H), each unit's maximum over time
        -> Dropout -> Dense -> logits (N, V)

    ``"last"`` keeps the order the LSTM read (the words right before the gap count most) and won
    clearly on lesson 05's validation split; ``"max"`` is the head of lesson 06's first sketch
    (``nn.LSTM`` outputs, max over time). The weights have the same shapes either way; a PyTorch
    model that loads a ``"last"`` file must read ``out[:, -1]``.
    ``dropout`` (inverted, training only) sits before the Dense layer, as in lesson 06.
    """

    architecture = "cnn_lstm"

    def __init__(self, vocab_size: int, seq_len: int, *, embed_dim: int = 32, filters: int = 64,
                 kernel_size: int = 3, hidden_size: int = 64, head: str = "last", dropout: float = 0.0,
                 embed_dropout: float = 0.0, rng=None, dtype=np.float32):
        super().__init__(vocab_size, seq_len)
        if kernel_size > seq_len:
            raise ValueError(f"kernel_size={kernel_size} is longer than the context seq_len={seq_len}")
        if head not in ("max", "last"):
            raise ValueError(f"head: expected 'last' (last LSTM state) or 'max' (max over time), "
                             f"got {head!r}")
        rng = get_rng(rng)
        self.embed_dim, self.filters, self.kernel_size = int(embed_dim), int(filters), int(kernel_size)
        self.hidden_size, self.head, self.dropout = int(hidden_size), head, float(dropout)
        self.embed_dropout = float(embed_dropout)
        layers = [Embedding(vocab_size, embed_dim, rng=rng, dtype=dtype)]    # (N, T) -> (N, T, E)
        if embed_dropout:
            layers.append(Dropout(embed_dropout, rng=rng))                  # on the word vectors
        c = len(layers)                                                     # index of the Conv1D layer
        layers += [
            Conv1D(embed_dim, filters, kernel_size, rng=rng, dtype=dtype),  # -> (N, T', F), T' = T-k+1
            ReLU(),
            LSTM(filters, hidden_size, return_sequences=(head == "max"), rng=rng, dtype=dtype),
        ]
        if head == "max":
            layers.append(GlobalMaxPool1D())                                # (N, T', H) -> (N, H)
        layers += [Dropout(dropout, rng=rng), Dense(hidden_size, vocab_size, rng=rng, dtype=dtype)]
        self.net = Sequential(layers)
        d, r = len(layers) - 1, c + 2                                       # the Dense and LSTM layers
        self.param_names = {"embedding.W": "0.W", "conv.W": f"{c}.W", "conv.b": f"{c}.b",
                            "lstm.W_x": f"{r}.W_x", "lstm.W_h": f"{r}.W_h", "lstm.b": f"{r}.b",
                            "dense.W": f"{d}.W", "dense.b": f"{d}.b"}

    def config(self) -> dict:
        return {"architecture": self.architecture, "vocab_size": self.vocab_size, "seq_len": self.seq_len,
                "embed_dim": self.embed_dim, "filters": self.filters, "kernel_size": self.kernel_size,
                "hidden_size": self.hidden_size, "head": self.head, "dropout": self.dropout,
                "embed_dropout": self.embed_dropout}


_ARCHITECTURES = {"cnn": CNNNextWord, "cnn_lstm": CNNLSTMNextWord}


def build_model(config: dict, *, rng=None, dtype=np.float32) -> NextWordModel:
    """A fresh model from ``model.config()`` (extra keys, such as a file's ``info``, are ignored)."""
    kind = config.get("architecture")
    if kind not in _ARCHITECTURES:
        raise ValueError(f"config: expected architecture in {sorted(_ARCHITECTURES)}, got {kind!r}")
    cls = _ARCHITECTURES[kind]
    keys = ["embed_dim", "filters", "kernel_size", "embed_dropout", "dropout"]
    keys += ["hidden_size", "head"] if kind == "cnn_lstm" else ["positions"]
    return cls(config["vocab_size"], config["seq_len"], rng=rng, dtype=dtype,
               **{k: config[k] for k in keys if k in config})


def float64_copy(model: NextWordModel) -> NextWordModel:
    """The same model (same weights) in float64, for gradient checks."""
    copy = build_model(model.config(), rng=np.random.default_rng(0), dtype=np.float64)
    for key, p in model.params.items():
        copy.params[key][...] = p
    return copy


def save_model(model: NextWordModel, path, vocab: dict, info: dict | None = None) -> Path:
    """Write the weights, the vocabulary and the configuration to ``path`` (``np.savez``; keys above).

    ``info``: more JSON-able facts stored in ``config`` (how the vocabulary and split were made,
    the training hyper-parameters, the metrics), so that the file explains itself.
    """
    vocab = check_vocab(vocab)
    if len(vocab) != model.vocab_size:
        raise ValueError(f"vocab has {len(vocab)} words but the model predicts {model.vocab_size} classes")
    words = np.array(sorted(vocab, key=vocab.get))                        # words[i] is the word of id i
    config = json.dumps({**model.config(), **(info or {})}, sort_keys=True)   # fails early if not JSON
    arrays = {name: np.ascontiguousarray(p) for name, p in model.named_params().items()}
    path = Path(path)
    with atomic_path(path) as tmp, tmp.open("wb") as f:   # a file object: savez adds no ".npz" suffix
        np.savez(f, vocab=words, config=np.array(config), **arrays)
    return path


def load_model(path, dtype=np.float32):
    """Read a file of :func:`save_model`; returns ``(model, vocab, config)``."""
    with np.load(path, allow_pickle=False) as data:
        config = json.loads(str(data["config"]))
        vocab = {str(w): i for i, w in enumerate(data["vocab"])}
        model = build_model(config, rng=np.random.default_rng(0), dtype=dtype)
        for name, p in model.named_params().items():
            if data[name].shape != p.shape:
                raise ValueError(f"{path}: {name} has shape {data[name].shape}, expected {p.shape}")
            p[...] = data[name]
    check_vocab(vocab)
    return model, vocab, config
