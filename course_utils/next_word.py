"""Next-word prediction for lessons 04 and 05 (and the weights lesson 06 loads).

The two neural models, the baselines they must beat, the metrics, the training functions and
the weight file, in that order::

    vocab, data = next_word_data(seq_len=6)                  # split by sentence, vocabulary with min_freq=2
    model = CNNNextWord(len(vocab), seq_len=6)               # Embedding -> Conv1D -> ReLU -> pool -> Dense
    history = train_cnn(model, data["train"], data["val"], epochs=30, patience=3)
    hybrid = CNNLSTMNextWord(len(vocab), seq_len=6)          # Embedding -> Conv1D -> ReLU -> LSTM -> Dense
    history = train_cnn_lstm(hybrid, data["train"], data["val"], epochs=60, patience=4)

    bigram = BigramModel(len(vocab), weight=0.5).fit(*data["train"])   # a baseline, from the training split
    X_test, Y_test = data["test"]                            # used once, at the end
    next_word_metrics(hybrid.predict_proba(X_test), Y_test)  # top1, top5, perplexity (all and known targets)
    save_model(hybrid, "data/models/05_cnn_lstm_weights.npz", vocab, info={...})

Every model here follows the protocol of :func:`course_utils.text.predict_next`: a ``seq_len``
attribute and ``predict_proba(X (N, seq_len) int) -> (N, V)`` probabilities. The neural models'
``forward`` returns *logits*; the one softmax is applied in ``predict_proba`` (and, for training,
inside ``softmax_cross_entropy``, which takes logits), never twice.

``<UNK>`` targets. The vocabulary is built on the training split with ``min_freq=2``: words seen
once in training become ``<UNK>`` there too, so ``<UNK>`` is an ordinary class that every model
learns to predict ("some rare word"), and every validation and test target, ``<UNK>`` or not, has
a finite probability under every model. :func:`next_word_metrics` reports each metric twice, over
all targets and over the targets that are real words (``known_*``: ``<UNK>`` targets left out, the
same probabilities). Models and baselines are scored by the same function on the same targets.

The weight file (:func:`save_model`, :func:`load_model`), an ``np.savez`` archive:

==================  ==================  ==================================================
key                 shape, dtype        what
==================  ==================  ==================================================
``embedding.W``     ``(V, E)`` float32  one row per word id; ``<PAD>`` = 0 has a learned row (no
                                        ``padding_idx``: a PyTorch ``nn.Embedding`` must not set one)
``conv.W``          ``(k, E, F)``       Conv1D kernel, channels last (PyTorch: ``(F, E, k)``)
``conv.b``          ``(F,)``
``lstm.W_x``        ``(F, 4H)``         gates stacked i, f, g, o (PyTorch: ``weight_ih_l0.T``)
``lstm.W_h``        ``(H, 4H)``         (PyTorch: ``weight_hh_l0.T``)
``lstm.b``          ``(4H,)``           PyTorch: ``bias_ih_l0 + bias_hh_l0``
``dense.W``         ``(H, V)``          (PyTorch ``nn.Linear.weight``: ``(V, H)``); ``(F, V)`` for the CNN
``dense.b``         ``(V,)``
``vocab``           ``(V,)`` str        ``vocab[i]`` is the word of id ``i`` (``<PAD>``, ``<UNK>``, ...)
``config``          ``()`` str          JSON: ``architecture``, ``vocab_size``, ``seq_len``, ``embed_dim``,
                                        ``filters``, ``kernel_size``, ``hidden_size``, ``head``, ``dropout``,
                                        and the caller's ``info`` (lesson 05: ``min_freq``, ``split_seed``,
                                        ``split_fractions``, ``mode``, ``training``, ``test``)
==================  ==================  ==================================================

All weights are float32. The CNN's file has no ``lstm.*`` keys. ``head`` says what the Dense layer
reads: ``"last"`` (lesson 05's choice) is the LSTM's hidden state after the last step, which a
PyTorch ``nn.LSTM(batch_first=True)`` gives as ``out[:, -1]``; ``"max"`` is the maximum over time
of the LSTM outputs. Dropout (``dropout``, before the Dense layer) has no weights. Load with
``np.load(path)`` (no pickle needed) or :func:`load_model`; the vocabulary can also be rebuilt
from the corpus with ``split_seed``, ``split_fractions`` and ``min_freq`` (``next_word_data``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from .files import atomic_path
from .hardware import limit_blas_threads
from .layers import LSTM, Conv1D, Dense, Dropout, Embedding, GlobalMaxPool1D, ReLU, Sequential
from .losses import log_softmax, softmax_cross_entropy
from .optim import SGD, Adam
from .seeding import get_rng
from .text import (PAD_ID, UNK_ID, _check_vocab, build_vocab, create_examples, load_medical_corpus,
                   split_sentences, texts_to_sequences)
from .training import train

# ---------------------------------------------------------------- input checks


def _check_ids(X, seq_len: int | None = None, name: str = "X") -> np.ndarray:
    X = np.asarray(X)
    if X.ndim != 2 or X.dtype.kind not in "iu":
        raise ValueError(f"{name}: expected integer ids of shape (N, seq_len), got shape {X.shape} "
                         f"and dtype {X.dtype}")
    if seq_len is not None and X.shape[1] != seq_len:
        raise ValueError(f"{name}: expected shape (N, {seq_len}) (seq_len={seq_len}), got {X.shape}")
    return X


def _check_targets(Y, n: int | None = None, vocab_size: int | None = None) -> np.ndarray:
    Y = np.asarray(Y)
    if Y.ndim != 1 or Y.dtype.kind not in "iu":
        raise ValueError(f"targets: expected integer ids of shape (N,), got shape {Y.shape} "
                         f"and dtype {Y.dtype}")
    if n is not None and len(Y) != n:
        raise ValueError(f"targets: expected {n} targets (one per row), got {len(Y)}")
    if vocab_size is not None and Y.size and (Y.min() < 0 or Y.max() >= vocab_size):
        raise ValueError(f"targets: expected ids in [0, {vocab_size}), got {Y.min()} to {Y.max()}")
    return Y


# ---------------------------------------------------------------- the data


def next_word_data(seq_len: int, *, min_freq: int = 2, split_seed: int = 0, fractions=(0.8, 0.1, 0.1)):
    """The medical corpus as next-word examples, the way lessons 04-06 use it.

    Splits the sentences with ``split_sentences(..., fractions, seed=split_seed)``, builds the
    vocabulary on the training sentences with ``min_freq`` (rarer words become ``<UNK>``), and
    returns ``(vocab, {"train": (X, Y), "val": (X, Y), "test": (X, Y)})`` with ``X (n, seq_len)``
    and ``Y (n,)`` int64 from ``create_examples``. The targets do not depend on ``seq_len`` (every
    word after the first of a sentence), so models with different contexts face the same targets.
    """
    parts = split_sentences(load_medical_corpus(), tuple(fractions), seed=split_seed)
    vocab = build_vocab(parts[0], min_freq=min_freq)
    data = {name: create_examples(texts_to_sequences(part, vocab), seq_len)
            for name, part in zip(("train", "val", "test"), parts)}
    return vocab, data


# ---------------------------------------------------------------- the two neural models


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
        return self.net.forward(_check_ids(X, self.seq_len), training=training)

    def backward(self, dlogits):
        """``dlogits (N, V)`` -> fills ``grads``; returns ``None`` (ids have no gradient)."""
        return self.net.backward(dlogits)

    def predict_proba(self, X, batch_size: int = 2048) -> np.ndarray:
        """``X (N, seq_len)`` -> probabilities ``(N, V)`` float64, rows summing to 1 (evaluation mode).

        The softmax is taken in float64 (``exp(log_softmax)`` of the logits): float32 would round
        probabilities below about 1e-45 to zero, and the metrics take ``log p`` of the target's.
        """
        X = _check_ids(X, self.seq_len)
        out = [np.exp(log_softmax(self.forward(X[i:i + batch_size], training=False).astype(np.float64)))
               for i in range(0, len(X), batch_size)]
        return np.concatenate(out) if out else np.zeros((0, self.vocab_size))

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

        X (N, T) int  -> Embedding -> (N, T, E) -> Conv1D(k) -> (N, T-k+1, F) -> ReLU
                      -> GlobalMaxPool1D -> (N, F) -> Dense -> logits (N, V)

    Each of the ``F`` filters is a detector of one ``k``-word pattern; max pooling keeps the
    strongest match anywhere in the context, so the model knows *what* it saw, not *where*.
    """

    architecture = "cnn"

    def __init__(self, vocab_size: int, seq_len: int, *, embed_dim: int = 32, filters: int = 64,
                 kernel_size: int = 3, rng=None, dtype=np.float32):
        super().__init__(vocab_size, seq_len)
        if kernel_size > seq_len:
            raise ValueError(f"kernel_size={kernel_size} is longer than the context seq_len={seq_len}")
        rng = get_rng(rng)
        # Plain ints (not NumPy integers from a search table), so that config() is valid JSON.
        self.embed_dim, self.filters, self.kernel_size = int(embed_dim), int(filters), int(kernel_size)
        self.net = Sequential([
            Embedding(vocab_size, embed_dim, rng=rng, dtype=dtype),        # (N, T) -> (N, T, E)
            Conv1D(embed_dim, filters, kernel_size, rng=rng, dtype=dtype),  # -> (N, T-k+1, F)
            ReLU(),
            GlobalMaxPool1D(),                                              # -> (N, F)
            Dense(filters, vocab_size, rng=rng, dtype=dtype),               # -> (N, V) logits
        ])
        self.param_names = {"embedding.W": "0.W", "conv.W": "1.W", "conv.b": "1.b",
                            "dense.W": "4.W", "dense.b": "4.b"}

    def config(self) -> dict:
        return {"architecture": self.architecture, "vocab_size": self.vocab_size, "seq_len": self.seq_len,
                "embed_dim": self.embed_dim, "filters": self.filters, "kernel_size": self.kernel_size}


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
                 rng=None, dtype=np.float32):
        super().__init__(vocab_size, seq_len)
        if kernel_size > seq_len:
            raise ValueError(f"kernel_size={kernel_size} is longer than the context seq_len={seq_len}")
        if head not in ("max", "last"):
            raise ValueError(f"head: expected 'last' (last LSTM state) or 'max' (max over time), "
                             f"got {head!r}")
        rng = get_rng(rng)
        self.embed_dim, self.filters, self.kernel_size = int(embed_dim), int(filters), int(kernel_size)
        self.hidden_size, self.head, self.dropout = int(hidden_size), head, float(dropout)
        layers = [
            Embedding(vocab_size, embed_dim, rng=rng, dtype=dtype),        # (N, T) -> (N, T, E)
            Conv1D(embed_dim, filters, kernel_size, rng=rng, dtype=dtype),  # -> (N, T', F), T' = T-k+1
            ReLU(),
            LSTM(filters, hidden_size, return_sequences=(head == "max"), rng=rng, dtype=dtype),
        ]
        if head == "max":
            layers.append(GlobalMaxPool1D())                                # (N, T', H) -> (N, H)
        layers += [Dropout(dropout, rng=rng), Dense(hidden_size, vocab_size, rng=rng, dtype=dtype)]
        self.net = Sequential(layers)
        d = len(layers) - 1                                                 # index of the Dense layer
        self.param_names = {"embedding.W": "0.W", "conv.W": "1.W", "conv.b": "1.b", "lstm.W_x": "3.W_x",
                            "lstm.W_h": "3.W_h", "lstm.b": "3.b", "dense.W": f"{d}.W", "dense.b": f"{d}.b"}

    def config(self) -> dict:
        return {"architecture": self.architecture, "vocab_size": self.vocab_size, "seq_len": self.seq_len,
                "embed_dim": self.embed_dim, "filters": self.filters, "kernel_size": self.kernel_size,
                "hidden_size": self.hidden_size, "head": self.head, "dropout": self.dropout}


_ARCHITECTURES = {"cnn": CNNNextWord, "cnn_lstm": CNNLSTMNextWord}


def build_model(config: dict, *, rng=None, dtype=np.float32) -> NextWordModel:
    """A fresh model from ``model.config()`` (extra keys, such as a file's ``info``, are ignored)."""
    kind = config.get("architecture")
    if kind not in _ARCHITECTURES:
        raise ValueError(f"config: expected architecture in {sorted(_ARCHITECTURES)}, got {kind!r}")
    cls = _ARCHITECTURES[kind]
    keys = ["embed_dim", "filters", "kernel_size"]
    if kind == "cnn_lstm":
        keys += ["hidden_size", "head", "dropout"]
    return cls(config["vocab_size"], config["seq_len"], rng=rng, dtype=dtype,
               **{k: config[k] for k in keys if k in config})


def float64_copy(model: NextWordModel) -> NextWordModel:
    """The same model (same weights) in float64, for gradient checks."""
    copy = build_model(model.config(), rng=np.random.default_rng(0), dtype=np.float64)
    for key, p in model.params.items():
        copy.params[key][...] = p
    return copy


# ---------------------------------------------------------------- the baselines


class UnigramModel:
    """Predict every word with its frequency as a training *target*, whatever the context.

    ``P(w) = (count(w) + k) / (n + k (V - 1))`` for every id ``w`` except ``<PAD>``, which is never
    a target and gets probability 0. Add-``k`` smoothing (``k = 1`` by default: Laplace) gives
    the words never seen as a target a small probability instead of zero.
    """

    seq_len = 1          # predict_next needs one; the unigram model ignores the context anyway

    def __init__(self, vocab_size: int, k: float = 1.0):
        if not k > 0:
            raise ValueError(f"k: expected a positive smoothing count, got {k!r}")
        self.vocab_size, self.k = int(vocab_size), float(k)
        self.probs = None

    def fit(self, Y) -> UnigramModel:
        """``Y (n,)``: the training targets."""
        Y = _check_targets(Y, vocab_size=self.vocab_size)
        counts = np.bincount(Y, minlength=self.vocab_size).astype(np.float64)
        counts += self.k
        counts[PAD_ID] = 0.0
        self.probs = counts / counts.sum()                                  # (V,)
        return self

    def predict_proba(self, X) -> np.ndarray:
        """``X (N, any)`` -> ``(N, V)``: the same row for every context."""
        if self.probs is None:
            raise RuntimeError("UnigramModel: call fit(Y_train) first")
        X = _check_ids(X)
        return np.tile(self.probs, (len(X), 1))


class BigramModel:
    """The previous word's bigram counts, interpolated with the unigram model.

    With ``v`` the last word of the context (``X[:, -1]``) and ``w`` the next word::

        P(w | v) = weight * count(v, w) / count(v)  +  (1 - weight) * P_unigram(w)

    (Jelinek-Mercer interpolation); a context word never seen in training (``count(v) = 0``)
    falls back to ``P_unigram(w)``. ``weight`` in [0, 1) is chosen on the validation split
    (:func:`choose_bigram_weight`); ``weight < 1`` keeps every probability above zero.
    """

    seq_len = 1          # the bigram model reads one word of context

    def __init__(self, vocab_size: int, weight: float = 0.7, k: float = 1.0):
        if not 0.0 <= weight < 1.0:
            raise ValueError(f"weight: expected a number in [0, 1), got {weight!r}")
        self.vocab_size, self.weight = int(vocab_size), float(weight)
        self.unigram = UnigramModel(vocab_size, k)
        self.counts = None

    def fit(self, X, Y) -> BigramModel:
        """``X (n, seq_len)``, ``Y (n,)``: the training examples (only ``X[:, -1]`` is used)."""
        X = _check_ids(X)
        Y = _check_targets(Y, len(X), self.vocab_size)
        self.unigram.fit(Y)
        V = self.vocab_size
        # counts[v, w] = how often w followed v; one bincount over the flattened pair index.
        self.counts = np.bincount(X[:, -1] * V + Y, minlength=V * V).reshape(V, V).astype(np.float64)
        return self

    def predict_proba(self, X) -> np.ndarray:
        """``X (N, seq_len)`` -> ``(N, V)``, one row per context."""
        if self.counts is None:
            raise RuntimeError("BigramModel: call fit(X_train, Y_train) first")
        X = _check_ids(X)
        prev = X[:, -1]
        if prev.size and prev.max() >= self.vocab_size:
            raise ValueError(f"X: expected ids below vocab_size={self.vocab_size}, got {prev.max()}")
        rows = self.counts[prev]                                             # (N, V)
        totals = rows.sum(axis=1, keepdims=True)                             # (N, 1): count(v)
        seen = totals > 0
        ml = np.divide(rows, totals, out=np.zeros_like(rows), where=seen)   # count(v, w) / count(v)
        lam = np.where(seen, self.weight, 0.0)                               # unseen v: unigram only
        return lam * ml + (1.0 - lam) * self.unigram.probs


def choose_bigram_weight(train_data, val_data, vocab_size: int, weights=None, k: float = 1.0):
    """Fit one bigram model per ``weight`` on ``train_data`` and score each on ``val_data``.

    Returns ``(best_weight, table)``; ``table`` has the validation cross-entropy and perplexity
    per weight. The test split plays no part.
    """
    weights = np.round(np.arange(0.0, 1.0, 0.05), 2) if weights is None else np.asarray(weights, float)
    rows = []
    for w in weights:
        model = BigramModel(vocab_size, weight=float(w), k=k).fit(*train_data)
        ce = cross_entropy(model.predict_proba(val_data[0]), val_data[1])
        rows.append({"weight": float(w), "val_cross_entropy": ce, "val_perplexity": float(np.exp(ce))})
    table = pd.DataFrame(rows)
    best = float(table.loc[table["val_cross_entropy"].idxmin(), "weight"])
    return best, table


# ---------------------------------------------------------------- metrics


def _check_scores(scores, targets):
    scores = np.asarray(scores)
    if scores.ndim != 2 or scores.dtype.kind != "f":
        raise ValueError(f"expected float scores of shape (N, V), got shape {scores.shape} "
                         f"and dtype {scores.dtype}")
    targets = _check_targets(targets, len(scores), scores.shape[1])
    return scores, targets


def target_rank(scores, targets) -> np.ndarray:
    """0-based rank of each target among the ``V`` scores of its row, ``(N,)`` int.

    The rank is the target's position in a stable sort by decreasing score: the number of ids
    with a higher score, plus those with an equal score and a lower id (the same tie rule as
    ``predict_next``). Logits and probabilities give the same ranks.
    """
    scores, targets = _check_scores(scores, targets)
    s_t = scores[np.arange(len(targets)), targets][:, None]                 # (N, 1): the target's score
    ids = np.arange(scores.shape[1])[None, :]
    return ((scores > s_t) | ((scores == s_t) & (ids < targets[:, None]))).sum(axis=1)


def top_k_accuracy(scores, targets, k: int = 1) -> float:
    """Share of rows whose target is among the ``k`` highest scores (logits or probabilities)."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k: expected an integer >= 1, got {k!r}")
    return float(np.mean(target_rank(scores, targets) < k))


def cross_entropy(probs, targets) -> float:
    """Mean ``-ln p[target]`` in nats, from probabilities ``(N, V)``."""
    probs, targets = _check_scores(probs, targets)
    p = probs[np.arange(len(targets)), targets]
    if np.any(p <= 0):
        raise ValueError(f"cross_entropy: {int(np.sum(p <= 0))} target(s) have probability 0; "
                         "the perplexity would be infinite (smooth the model)")
    return float(-np.mean(np.log(p)))


def perplexity(probs, targets) -> float:
    """``exp(mean cross-entropy)``: the model is as unsure as a uniform choice among this many words."""
    return float(np.exp(cross_entropy(probs, targets)))


def next_word_metrics(probs, targets, unk_id: int = UNK_ID) -> dict:
    """Top-1, top-5 accuracy and perplexity over all targets, and again over the known ones.

    ``known_*`` leaves out the rows whose target is ``<UNK>`` (a rare or unseen word) and keeps the
    model's probabilities as they are (a model that guesses ``<UNK>`` is wrong on those rows).
    """
    probs, targets = _check_scores(probs, targets)
    known = targets != unk_id
    out = {"n": len(targets), "unk_share": float(np.mean(~known))}
    for prefix, rows in (("", slice(None)), ("known_", known)):
        p, t = probs[rows], targets[rows]
        out[f"{prefix}top1"] = top_k_accuracy(p, t, 1)
        out[f"{prefix}top5"] = top_k_accuracy(p, t, 5)
        out[f"{prefix}cross_entropy"] = cross_entropy(p, t)
        out[f"{prefix}perplexity"] = float(np.exp(out[f"{prefix}cross_entropy"]))
    return out


def accuracy(logits, targets) -> float:
    """Top-1 accuracy; a ``metrics`` function for ``course_utils.training``."""
    return top_k_accuracy(logits, targets, 1)


def top5_accuracy(logits, targets) -> float:
    """Top-5 accuracy; a ``metrics`` function for ``course_utils.training``."""
    return top_k_accuracy(logits, targets, 5)


# ---------------------------------------------------------------- training


def fit_next_word(model, optimizer, train_data, val_data, *, epochs: int, batch_size: int,
                  clip_norm: float | None = None, patience: int | None = None, rng=None,
                  progress: bool = True, desc: str = "training",
                  blas_threads: int | None = 1) -> pd.DataFrame:
    """Train ``model`` with :func:`course_utils.training.train`; return the history, one row per epoch.

    After each epoch the model is scored in evaluation mode on the whole training and validation
    sets (``eval_train=True``). Columns: ``epoch, train_loss, train_acc, train_top5, val_loss,
    val_acc, val_top5`` (loss: mean cross-entropy in nats), ``seconds`` (the training pass alone:
    forward, backward, update), ``eval_seconds``, and ``grad_norm`` when clipping.

    ``patience``: early stopping on the validation loss; after ``patience`` epochs without a new
    best, training stops and the best epoch's weights are put back (column ``best``).

    ``blas_threads``: the matrices here are small (a batch of 64 rows), so extra BLAS threads buy
    next to nothing on an idle machine, while on a shared one they wait for each other and an
    epoch can take 10 to 20 times longer (measured on the course's 2-CPU machine). Training
    therefore runs with one BLAS thread when ``threadpoolctl`` is installed; ``None`` keeps the
    library's default. The limit holds only inside this function.
    """
    with limit_blas_threads(blas_threads):
        return train(model, softmax_cross_entropy, optimizer, train_data, val_data, epochs=epochs,
                     batch_size=batch_size, clip_norm=clip_norm, metrics={"acc": accuracy, "top5": top5_accuracy},
                     patience=patience, eval_train=True, rng=rng, progress=progress, desc=desc)


def train_cnn(model: CNNNextWord, train_data, val_data, *, epochs: int, batch_size: int = 64,
              lr: float = 0.02, momentum: float = 0.9, patience: int | None = None, rng=None,
              progress: bool = True) -> pd.DataFrame:
    """Lesson 04: mini-batch SGD with momentum (PyTorch's convention, see ``course_utils.SGD``).

    Returns the history of :func:`fit_next_word`: training and validation loss, accuracy and
    top-5 accuracy per epoch, and the seconds of each training pass. ``patience=None`` trains
    all ``epochs``; a number stops early on the validation loss and keeps the best epoch's weights.
    """
    optimizer = SGD(model.params, lr=lr, momentum=momentum)
    return fit_next_word(model, optimizer, train_data, val_data, epochs=epochs, batch_size=batch_size,
                         patience=patience, rng=rng, progress=progress, desc="CNN")


def train_cnn_lstm(model: CNNLSTMNextWord, train_data, val_data, *, epochs: int, batch_size: int = 64,
                   lr: float = 2e-3, clip_norm: float = 5.0, patience: int = 4, rng=None,
                   progress: bool = True) -> pd.DataFrame:
    """Lesson 05: Adam with gradient clipping and early stopping on the validation loss.

    Returns the history of :func:`fit_next_word` (training and validation loss and accuracy per
    epoch, top-5 too, and a ``best`` column); the model keeps the best epoch's weights.
    """
    optimizer = Adam(model.params, lr=lr)
    return fit_next_word(model, optimizer, train_data, val_data, epochs=epochs, batch_size=batch_size,
                         clip_norm=clip_norm, patience=patience, rng=rng, progress=progress, desc="CNN+LSTM")


def training_speed(config: dict, train_data, *, batch_sizes=(1, 64), n_examples: int = 512,
                   repeats: int = 3, seed: int = 0) -> pd.DataFrame:
    """Examples per second of one training pass (forward, backward, update), by batch size.

    A fresh model of ``config`` trains one epoch on the first ``n_examples`` training examples, ``repeats``
    times per batch size; batch size 1 is the per-sample loop: the same layers, one example per forward,
    backward and update. All sizes are timed here, in one process, at the same machine load, so their
    ratio says what batching buys on *this* machine. The fastest repeat counts: other programs can only
    slow a run down. Returns one row per batch size: ``batch_size``, ``seconds`` (fastest pass),
    ``examples_per_second``, and ``x_per_sample`` (the speed over batch size 1's, if 1 was timed).
    """
    X, Y = (np.asarray(a)[:n_examples] for a in train_data)
    if len(X) == 0 or repeats < 1:
        raise ValueError(f"training_speed: expected examples and repeats >= 1, got {len(X)} and {repeats}")
    rows = []
    for batch_size in batch_sizes:
        seconds = []
        for r in range(repeats):
            model = build_model(config, rng=np.random.default_rng(seed + r))
            history = fit_next_word(model, SGD(model.params, lr=0.01), (X, Y), (X[:8], Y[:8]), epochs=1,
                                    batch_size=batch_size, rng=np.random.default_rng(seed), progress=False)
            seconds.append(float(history["seconds"].iloc[0]))
        rows.append({"batch_size": batch_size, "seconds": min(seconds), "examples_per_second": len(X) / min(seconds)})
    table = pd.DataFrame(rows)
    if 1 in set(table["batch_size"]):
        table["x_per_sample"] = table["examples_per_second"] / table.loc[table["batch_size"] == 1,
                                                                         "examples_per_second"].iloc[0]
    return table


# ---------------------------------------------------------------- the weight file


def save_model(model: NextWordModel, path, vocab: dict, info: dict | None = None) -> Path:
    """Write the weights, the vocabulary and the configuration to ``path`` (``np.savez``; keys above).

    ``info``: more JSON-able facts stored in ``config`` (how the vocabulary and split were made,
    the training hyper-parameters, the metrics), so that the file explains itself.
    """
    vocab = _check_vocab(vocab)
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
    _check_vocab(vocab)
    return model, vocab, config
