"""A training loop for ``course_utils`` models, with a progress bar and a pandas history.

    history = train(model, softmax_cross_entropy, Adam(model.params, 1e-3),
                    (X_train, y_train), (X_val, y_val), epochs=20, batch_size=64,
                    clip_norm=5.0, patience=3)

Mini-batches are whole arrays: one ``forward`` and one ``backward`` per batch, no loop over
samples. The returned ``DataFrame`` has one row per epoch.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np
import pandas as pd

from .optim import clip_grad_norm
from .progress import progress_bar
from .seeding import get_rng


def minibatches(X, y, batch_size: int, *, shuffle: bool = True, rng=None):
    """Yield ``(X_batch, y_batch)`` pairs covering every example once (the last batch may be smaller)."""
    n = len(X)
    if len(y) != n:
        raise ValueError(f"X and y must have the same number of examples, got {n} and {len(y)}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    order = get_rng(rng).permutation(n) if shuffle else np.arange(n)
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], y[idx]


def evaluate(model, loss_fn: Callable, X, y, *, batch_size: int = 1024, metrics: dict | None = None) -> dict:
    """Mean loss (and metrics) over a data set in evaluation mode (no dropout), batch by batch.

    ``metrics`` maps a name to ``fn(outputs, y) -> float`` averaged over examples.
    Batch means are weighted by the batch's number of examples: exact whenever every example
    counts once (not when a loss ignores some targets, e.g. padding).
    """
    if len(X) == 0:
        raise ValueError("evaluate: the data set is empty")
    totals = {"loss": 0.0, **{name: 0.0 for name in metrics or {}}}
    for Xb, yb in minibatches(X, y, batch_size, shuffle=False):
        out = model.forward(Xb, training=False)
        totals["loss"] += loss_fn(out, yb)[0] * len(Xb)
        for name, fn in (metrics or {}).items():
            totals[name] += fn(out, yb) * len(Xb)
    return {name: value / len(X) for name, value in totals.items()}


def _train_one_epoch(model, loss_fn: Callable, optimizer, X, y, batch_size: int, clip_norm: float | None,
                     rng) -> tuple[float, float | None]:
    """One pass over the training set, batch by batch: forward, backward, (clip,) update.

    Returns the mean training loss and the mean gradient norm before clipping (``None`` without clipping).
    """
    loss_sum, norm_sum, steps = 0.0, 0.0, 0
    for Xb, yb in minibatches(X, y, batch_size, rng=rng):
        loss, dout = loss_fn(model.forward(Xb, training=True), yb)
        model.backward(dout)
        grads = model.grads
        if clip_norm is not None:
            norm_sum += clip_grad_norm(grads, clip_norm)
        optimizer.step(grads)
        loss_sum += loss * len(Xb)
        steps += 1
    return loss_sum / len(X), (norm_sum / steps if clip_norm is not None else None)


def sample_rows(n_examples: int, n: int) -> np.ndarray:
    """The rows that ``train(eval_train=n)`` scores: ``n`` of ``range(n_examples)``, drawn once with
    seed 0 (apart from any other generator) and sorted; every row if ``n >= n_examples``."""
    if n >= n_examples:
        return np.arange(n_examples)
    return np.sort(np.random.default_rng(0).choice(n_examples, int(n), replace=False))


def _training_sample(X, y, eval_train):
    """The training examples that ``eval_train`` scores: all of them, or a fixed sample of ``n``."""
    if isinstance(eval_train, bool):
        return X, y
    if not isinstance(eval_train, (int, np.integer)) or eval_train < 1:
        raise ValueError(f"eval_train: expected True, False or a number of examples >= 1, got {eval_train!r}")
    if eval_train >= len(y):
        return X, y
    rows = sample_rows(len(y), eval_train)
    return X[rows], y[rows]


def _check_options(val_data, patience, lr_decay) -> None:
    """The argument checks of :func:`train` that need no data."""
    if patience is not None and val_data is None:
        raise ValueError("early stopping (patience) needs val_data")
    if lr_decay is not None and not 0.0 < lr_decay <= 1.0:
        raise ValueError(f"lr_decay must be in (0, 1], got {lr_decay}")


def train(model, loss_fn: Callable, optimizer, train_data, val_data=None, *, epochs: int, batch_size: int,
          clip_norm: float | None = None, metrics: dict | None = None, patience: int | None = None,
          eval_train: bool | int = False, lr_decay: float | None = None, rng=None, progress: bool = True,
          desc: str = "training") -> pd.DataFrame:
    """Train with mini-batches; return the history, one row per epoch.

    Columns: ``epoch``, ``train_loss``, the validation loss and ``metrics`` (``val_loss``,
    ``val_<name>``), ``seconds`` (the training pass alone: forward, backward, update),
    ``eval_seconds`` (the evaluation after it), ``grad_norm`` when clipping, ``best`` with ``patience``,
    and ``lr`` (after ``epoch``) with ``lr_decay``.

    - ``loss_fn(outputs, y) -> (loss, doutputs)``, e.g. ``softmax_cross_entropy`` or ``mse``.
    - ``clip_norm``: clip the global gradient norm of every step (the mean norm before
      clipping is logged as ``grad_norm``).
    - ``eval_train``: by default ``train_loss`` is the running mean over the epoch's batches (cheap,
      but measured with dropout on and with weights that changed during the epoch). With
      ``eval_train=True`` the end-of-epoch model is scored in evaluation mode on the whole training
      set, like the validation set, so the two columns compare like with like (``train_<name>`` too).
      An integer ``n`` scores the same ``n`` training examples every epoch, drawn once at random
      (seed 0, apart from ``rng``, so the batch order does not change): on a large training set
      that estimates the same number for a fraction of the time.
    - ``patience``: early stopping on the validation loss; after ``patience`` epochs without
      improvement training stops and the best epoch's weights are put back into ``model``.
      The validation set chooses the epoch, so report results on a separate test set.
    - ``lr_decay``: after every epoch the optimizer's learning rate is multiplied by this factor
      (``torch.optim.lr_scheduler.ExponentialLR`` stepped once per epoch): big steps while the
      weights are far from good, small ones to settle. The rate each epoch used is logged as ``lr``.
      The optimizer keeps the rate it ended with, so a second call goes on where the first stopped.
    """
    _check_options(val_data, patience, lr_decay)
    X, y = train_data
    rng = get_rng(rng)
    X_eval, y_eval = _training_sample(X, y, eval_train)
    rows, best, best_epoch, best_params, bad_epochs = [], np.inf, None, None, 0
    bar = progress_bar(total=epochs, desc=desc, disable=not progress)
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        train_loss, grad_norm = _train_one_epoch(model, loss_fn, optimizer, X, y, batch_size, clip_norm, rng)
        timing = {"seconds": time.perf_counter() - start}
        logged_lr = {} if lr_decay is None else {"lr": optimizer.lr}           # the rate this epoch used
        row = {"epoch": epoch, **logged_lr, "train_loss": train_loss}
        if lr_decay is not None:
            optimizer.lr *= lr_decay
        start = time.perf_counter()
        if eval_train:
            row.update({f"train_{k}": v
                        for k, v in evaluate(model, loss_fn, X_eval, y_eval, metrics=metrics).items()})
        if val_data is not None:
            row.update({f"val_{k}": v
                        for k, v in evaluate(model, loss_fn, *val_data, metrics=metrics).items()})
        timing["eval_seconds"] = time.perf_counter() - start
        if clip_norm is not None:
            timing["grad_norm"] = grad_norm
        rows.append({**row, **timing})
        bar.set_postfix({k: f"{v:.4f}" for k, v in row.items() if k.endswith("loss")}, refresh=False)
        bar.update(1)

        if patience is not None:
            if row["val_loss"] < best:
                best, best_epoch, bad_epochs = row["val_loss"], epoch, 0
                best_params = {k: p.copy() for k, p in model.params.items()}
            else:
                bad_epochs += 1
                if bad_epochs >= patience:
                    break
    bar.close()   # an early stop ends the bar complete, at the epoch reached
    history = pd.DataFrame(rows)
    if best_params is not None:
        for k, p in model.params.items():
            p[...] = best_params[k]  # in place: the optimizer holds these arrays
        history["best"] = history["epoch"] == best_epoch
    return history
