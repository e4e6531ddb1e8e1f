"""News-sentence classification (lesson 09): lesson 06's CNN-LSTM hybrid as a sentence classifier, in PyTorch.

    vocab = word_vocab(splits.train.text)              # the same word ids as the own-embeddings LSTM
    torch.manual_seed(0)                               # the initial weights (and the dropout masks)
    net = CNNLSTMTorch(len(vocab), 32, num_classes=4, head="max")
    hybrid = HybridClassifier(net, WordEncoder(vocab, max_len=32))
    history = hybrid.fit(splits, epochs=30, patience=5)    # early stopping on validation, best weights kept
    hybrid.predict(["Shares fell sharply."])           # raw text in, class names out, like every model here

The model is lesson 06's ``CNNLSTMTorch`` with four outputs instead of one per word::

    ids (N, T) -> Embedding -> (N, T, E) -> Conv1d(k) + ReLU -> (N, T-k+1, F) -> LSTM -> (N, T-k+1, H)
      -> max over time -> (N, H) -> Dropout -> Linear -> logits (N, 4)

Why ``head="max"``: :class:`~course_utils.lessons.text_classification.sequence.WordEncoder` pads every
sentence at the end, to one length, and this module (unlike Keras's ``mask_zero=True``) has no mask: the
LSTM goes on reading ``<PAD>`` after the last word. With ``head="last"`` the classifier would see the state
after all of a sentence's padding (most of the 32 positions, for a short sentence), and what the words
left in it would have to outlast those steps through the forget gate. The maximum over time keeps each
unit's peak wherever it came, the steps over the words included, so the padding after them cannot wash it
out. (Padding at the start would suit ``"last"``, as lesson 05's
next-word contexts do; the lesson keeps one encoder for both of its models that learn their own words.)
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from course_utils.hardware import choose_device, torch_threads
from course_utils.lessons.next_word.torch_hybrid import CNNLSTMTorch, TorchPredictor
from course_utils.lessons.text_classification.data import CLASSES, Splits, encode_labels
from course_utils.progress import progress_bar
from course_utils.text import check_positive_int, check_texts


def _texts(texts) -> list[str]:
    """A list of strings from a list, tuple, pandas Series or array of them; anything else is a ValueError."""
    if isinstance(texts, (pd.Series, np.ndarray)):
        texts = texts.tolist()
    return check_texts(texts)


def _evaluate(net: CNNLSTMTorch, X: torch.Tensor, y: torch.Tensor, batch_size: int = 512) -> tuple:
    """Mean cross-entropy and accuracy of ``net`` on ids ``X (N, T)`` and labels ``y (N,)``, dropout off."""
    net.eval()
    with torch.no_grad():
        logits = torch.cat([net(X[i:i + batch_size]) for i in range(0, len(X), batch_size)])   # (N, C)
    loss = F.cross_entropy(logits.double(), y).item()
    return loss, int((logits.argmax(dim=1) == y).sum()) / len(y)


def train_hybrid(net: CNNLSTMTorch, train_data, val_data, *, epochs: int, batch_size: int = 32,
                 patience: int = 5, learning_rate: float = 1e-3, seed: int = 0, device=None,
                 progress: bool = True, desc: str = "CNN-LSTM hybrid") -> pd.DataFrame:
    """Train ``net`` with Adam on cross-entropy in minibatches; early stopping on the validation loss.

    ``train_data``, ``val_data``: pairs ``(ids (N, T) int64, labels (N,) int64)``, arrays or tensors. The
    validation pair only watches: after ``patience`` epochs without a lower validation loss training stops,
    and the weights of the best epoch are put back (the ``best`` column marks it), as Keras's
    ``EarlyStopping(restore_best_weights=True)`` does for the lesson's LSTMs.

    The batch order is drawn from ``seed``; the initial weights and the dropout masks from PyTorch's
    global generator (call ``torch.manual_seed`` before building ``net``). Returns one row per epoch:
    ``epoch, train_loss, train_accuracy`` (running means over the epoch, dropout on), ``val_loss,
    val_accuracy`` (at the end of the epoch, dropout off), ``seconds``, ``best``.
    """
    epochs, batch_size = check_positive_int(epochs, "epochs"), check_positive_int(batch_size, "batch_size")
    patience = check_positive_int(patience, "patience")
    if not (isinstance(learning_rate, (int, float)) and learning_rate > 0):
        raise ValueError(f"learning_rate: expected a number > 0, got {learning_rate!r}")
    device = choose_device() if device is None else torch.device(device)
    net.to(device)
    X, y, X_val, y_val = (torch.as_tensor(np.asarray(a), dtype=torch.int64).to(device)
                          for a in (*train_data, *val_data))
    if len(X) != len(y) or len(X_val) != len(y_val) or len(X) == 0 or len(X_val) == 0:
        raise ValueError(f"train_data and val_data: expected non-empty pairs of equal length, got "
                         f"{len(X)} and {len(y)}, {len(X_val)} and {len(y_val)}")
    optimizer = torch.optim.Adam(net.parameters(), lr=learning_rate)
    generator = torch.Generator().manual_seed(seed)           # the batch order, its own seeded stream
    rows, best_loss, best_epoch, best_state, bad_epochs = [], math.inf, 0, None, 0
    bar = progress_bar(total=epochs, desc=desc, disable=not progress)   # advanced by hand: see progress
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        net.train()                                           # dropout on
        loss_sum, correct = 0.0, 0
        for idx in torch.randperm(len(X), generator=generator).split(batch_size):
            idx = idx.to(device)
            logits = net(X[idx])                              # (B, C): whole batches, no loop over sentences
            loss = F.cross_entropy(logits, y[idx])            # the softmax is inside the loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(idx)
            correct += int((logits.argmax(dim=1) == y[idx]).sum())
        val_loss, val_accuracy = _evaluate(net, X_val, y_val)
        if not math.isfinite(val_loss):
            raise FloatingPointError(f"epoch {epoch}: the validation loss is {val_loss}; "
                                     "lower the learning rate")
        rows.append({"epoch": epoch, "train_loss": loss_sum / len(X), "train_accuracy": correct / len(X),
                     "val_loss": val_loss, "val_accuracy": val_accuracy,
                     "seconds": time.perf_counter() - start})
        bar.set_postfix(loss=f"{rows[-1]['train_loss']:.3f}", val_loss=f"{val_loss:.3f}",
                        val_accuracy=f"{val_accuracy:.3f}", refresh=False)
        bar.update(1)
        if val_loss < best_loss:
            best_loss, best_epoch, bad_epochs = val_loss, epoch, 0
            best_state = copy.deepcopy(net.state_dict())
        else:
            bad_epochs += 1
            if bad_epochs >= patience:
                break
    bar.close()                                               # complete, "stopped at N of M" if it stopped
    net.load_state_dict(best_state)
    net.eval()
    history = pd.DataFrame(rows)
    history["best"] = history["epoch"] == best_epoch
    return history


@dataclass
class HybridClassifier:
    """A ``CNNLSTMTorch`` classifier with its encoder: raw sentences in, class names out (like a scikit-learn
    pipeline, and like ``TextSequenceClassifier``), so that ``score_model`` scores it like every model."""

    net: CNNLSTMTorch                   # ids (N, T) -> logits (N, n_classes)
    encoder: object                     # .encode(texts) -> ids (N, T), e.g. WordEncoder
    classes: tuple = CLASSES
    train_seconds: float = field(default=float("nan"))

    def __post_init__(self):
        if not isinstance(self.net, CNNLSTMTorch):
            raise ValueError(  # noqa: TRY004 (the course raises ValueError for all bad input)
                f"net: expected a CNNLSTMTorch, got {type(self.net).__name__}")
        if self.net.num_classes != len(self.classes):
            raise ValueError(f"net: expected num_classes={len(self.classes)} (one per class of "
                             f"{list(self.classes)}), got num_classes={self.net.num_classes}")
        max_len = getattr(self.encoder, "max_len", self.net.seq_len)
        if max_len != self.net.seq_len:
            raise ValueError(f"encoder: its max_len={max_len} must be the net's seq_len={self.net.seq_len}")

    def predict_proba(self, texts) -> np.ndarray:
        """``texts``: a non-empty list of N strings -> probabilities (N, n_classes) float64, rows sum to 1."""
        ids = self.encoder.encode(_texts(texts))                 # (N, T) int64
        return TorchPredictor(self.net, batch_size=512).predict_proba(ids)

    def predict(self, texts) -> np.ndarray:
        """(N,) class names."""
        return np.asarray(self.classes, dtype=object)[self.predict_proba(texts).argmax(axis=1)]

    def cross_entropy(self, texts, labels) -> float:
        """The mean cross-entropy on ``texts`` with the true ``labels`` (class names): the sanity anchor,
        about ln 4 = 1.386 for an untrained network."""
        y = encode_labels(labels, self.classes)
        p = self.predict_proba(texts)[np.arange(len(y)), y]
        return float(-np.mean(np.log(np.maximum(p, 1e-12))))

    def fit(self, splits: Splits, *, epochs: int = 30, batch_size: int = 32, patience: int = 5,
            learning_rate: float = 1e-3, seed: int = 0, device=None, threads: int | None = 1,
            progress: bool = True, desc: str = "CNN-LSTM hybrid") -> pd.DataFrame:
        """Train on ``splits.train``, early stopping on ``splits.val`` (the test split is not used):
        :func:`train_hybrid` on the encoded sentences. The wall time is kept in ``train_seconds``.

        ``threads``: PyTorch computes on this many CPU threads while training
        (:func:`course_utils.hardware.torch_threads`), so the trained weights do not depend on
        ``$COURSE_THREADS``; ``None`` keeps the lesson's setting.
        """
        if not isinstance(splits, Splits):
            raise ValueError(  # noqa: TRY004 (the course raises ValueError for all bad input)
                f"splits: expected the Splits of split_by_group, got {type(splits).__name__}")
        train, val = ((self.encoder.encode(_texts(part["text"])), encode_labels(part["label"], self.classes))
                      for part in (splits.train, splits.val))
        with torch_threads(threads) if threads is not None else nullcontext():
            start = time.perf_counter()
            history = train_hybrid(self.net, train, val, epochs=epochs, batch_size=batch_size,
                                   patience=patience, learning_rate=learning_rate, seed=seed, device=device,
                                   progress=progress, desc=desc)
            self.train_seconds = time.perf_counter() - start
        return history


@dataclass
class HybridSelection:
    """The outcome of :func:`select_hybrid`: the chosen classifier, its setting and history, every setting."""

    model: HybridClassifier             # trained, the best epoch's weights restored
    setting: dict
    history: pd.DataFrame               # the chosen setting's training history
    grid: pd.DataFrame                  # one row per setting: epochs, best epoch, val accuracy, val loss
    histories: list                     # the training history of every setting, in the order of grid


# The keys of a setting that go to ``HybridClassifier.fit``; the others go to ``build``.
FIT_SETTINGS = ("learning_rate", "batch_size")


def select_hybrid(build: Callable[..., HybridClassifier], settings, splits: Splits, *, seed: int = 0,
                  **fit_kwargs) -> HybridSelection:
    """Train ``build(**setting)`` for every setting; keep the best on the validation split.

    A setting is a dict of ``build``'s arguments (e.g. ``kernel_size``), plus ``learning_rate`` or
    ``batch_size`` for :meth:`HybridClassifier.fit`. Every setting starts from ``torch.manual_seed(seed)``
    and is trained by ``fit(splits, seed=seed, **fit_kwargs)``. "Best": the highest validation accuracy of
    the restored epoch, then the lower validation loss, then the first setting (list simpler ones first).
    The test split is not touched.
    """
    settings = [dict(s) for s in settings]
    if not settings or not all(settings):
        raise ValueError(f"settings: expected a list of non-empty dicts of build's arguments, got {settings}")
    rows, histories, best = [], [], None
    for k, setting in enumerate(settings):
        torch.manual_seed(seed)                               # the same initial draws for every setting
        clf = build(**{key: v for key, v in setting.items() if key not in FIT_SETTINGS})
        fit_setting = {key: v for key, v in setting.items() if key in FIT_SETTINGS}
        label = ", ".join(f"{key}={v}" for key, v in setting.items())
        history = clf.fit(splits, seed=seed,
                          **{"desc": f"CNN-LSTM hybrid, {label}", **fit_kwargs, **fit_setting})
        histories.append(history)
        kept = history[history["best"]].iloc[0]
        rows.append({**setting, "epochs": len(history), "best epoch": int(kept["epoch"]),
                     "val accuracy": float(kept["val_accuracy"]), "val loss": float(kept["val_loss"]),
                     "train s": clf.train_seconds})
        key = (kept["val_accuracy"], -kept["val_loss"], -k)
        if best is None or key > best[0]:
            best = (key, clf, setting, history)
    _, clf, setting, history = best
    return HybridSelection(clf, setting, history, pd.DataFrame(rows), histories)
