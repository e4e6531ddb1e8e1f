"""Chest X-ray classification (lesson 07): the training loop, with early stopping on a validation set.
"""

from __future__ import annotations

import copy
import math
import time

import pandas as pd
import torch
from torch import nn

from course_utils.hardware import choose_device
from course_utils.lessons.pneumonia.data import to_tensor
from course_utils.progress import progress_bar


def train_classifier(model: nn.Module, train_data, val_data, *, epochs: int, batch_size: int = 64,
                     lr: float = 1e-3, patience: int = 5, pos_weight: float | None = None,
                     val_pos_weight: float | None = None, augment=None, lr_factor: float = 0.5,
                     lr_patience: int = 2, device=None, seed: int = 0,
                     progress: bool = True, desc: str = "training",
                     monitor: dict | None = None) -> pd.DataFrame:
    """Train with ``BCEWithLogitsLoss`` and Adam; return the history, one row per epoch.

    - ``train_data``, ``val_data``: pairs ``(uint8 images (N, H, W), labels (N,))``.
    - ``pos_weight``: weight of the pneumonia examples in the loss (``n_normal / n_pneumonia``
      balances the classes); ``None`` means 1.
    - ``val_pos_weight``: their weight in the validation loss (and the ``monitor`` losses), which the
      learning-rate schedule and early stopping watch; ``None`` means the same as ``pos_weight``.
      Give ``1.0`` to judge models trained with different weights by one yardstick.
    - ``augment(x, generator)``: applied to every training batch (``x`` float ``(B, 1, H, W)``).
    - ``ReduceLROnPlateau`` multiplies the learning rate by ``lr_factor`` after ``lr_patience``
      epochs without a better validation loss; early stopping ends training after ``patience``
      such epochs and puts the best epoch's weights back (the ``best`` column marks it).
    - Batches are reshuffled every epoch by a ``torch.Generator`` seeded with ``seed`` (also used
      by ``augment``); weights are initialised by whoever built the model (``torch.manual_seed``).

    - ``monitor``: more labelled sets ``{name: (images, labels)}`` scored after every epoch like
      the validation set (columns ``<name>_loss``, ``<name>_accuracy``), only watched: they choose
      nothing.

    Columns: ``epoch, train_loss, train_accuracy`` (running means over the epoch, in training mode:
    with dropout and augmentation), ``val_loss, val_accuracy`` (evaluation mode, threshold 0.5),
    the ``monitor`` columns, ``lr`` (the rate used in the epoch), ``seconds`` and ``best``.
    """
    monitor = dict(monitor or {})
    for name, pair in monitor.items():
        if not (isinstance(name, str) and name.isidentifier()) or name in ("train", "val"):
            raise ValueError(f"monitor: names must be identifiers other than 'train' and 'val', got {name!r}")
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and len(pair[0]) == len(pair[1])):
            raise ValueError(f"monitor[{name!r}]: expected a pair (images, labels) of one length")
    device = torch.device(device) if device is not None else choose_device()
    model.to(device)
    generator = torch.Generator().manual_seed(seed)
    x_train = to_tensor(train_data[0], device)
    y_train = torch.as_tensor(train_data[1], dtype=torch.float32).to(device)
    x_val = to_tensor(val_data[0], device)
    y_val = torch.as_tensor(val_data[1], dtype=torch.float32).to(device)
    watched = {name: (to_tensor(x, device), torch.as_tensor(y, dtype=torch.float32).to(device))
               for name, (x, y) in monitor.items()}
    weight = torch.tensor(1.0 if pos_weight is None else float(pos_weight), device=device)
    criterion = nn.BCEWithLogitsLoss(pos_weight=weight)
    val_weight = weight if val_pos_weight is None else torch.tensor(float(val_pos_weight), device=device)
    val_criterion = nn.BCEWithLogitsLoss(pos_weight=val_weight)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=lr_factor,
                                                           patience=lr_patience)
    rows, best_loss, bad_epochs, best_epoch = [], math.inf, 0, 0
    best_state = copy.deepcopy(model.state_dict())
    # A bar advanced by hand: when early stopping breaks the loop it still counts the last epoch
    bar = progress_bar(None, total=epochs, desc=desc, disable=not progress)
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        model.train()
        lr_now = optimizer.param_groups[0]["lr"]
        loss_sum, correct, n = 0.0, 0, len(x_train)
        order = torch.randperm(n, generator=generator).to(device)
        for i in range(0, n, batch_size):
            idx = order[i:i + batch_size]
            xb, yb = x_train[idx], y_train[idx]
            if augment is not None:
                xb = augment(xb, generator)
            logits = model(xb)
            loss = criterion(logits, yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(idx)
            correct += ((logits.detach() > 0).float() == yb).sum().item()
        model.eval()
        scores = {}
        with torch.no_grad():
            for name, (x_eval, y_eval) in [("val", (x_val, y_val)), *watched.items()]:
                logits_eval = torch.cat([model(x_eval[i:i + 512]) for i in range(0, len(x_eval), 512)])
                scores[f"{name}_loss"] = val_criterion(logits_eval, y_eval).item()
                scores[f"{name}_accuracy"] = ((logits_eval > 0).float() == y_eval).float().mean().item()
        val_loss, val_acc = scores["val_loss"], scores["val_accuracy"]
        scheduler.step(val_loss)
        row = {"epoch": epoch, "train_loss": loss_sum / n, "train_accuracy": correct / n, **scores,
               "lr": lr_now, "seconds": time.perf_counter() - start}
        rows.append(row)
        if not math.isfinite(val_loss):
            raise FloatingPointError(f"epoch {epoch}: the validation loss is {val_loss}; "
                                     "lower the learning rate")
        # refresh=False: the bar redraws at its own pace (a saved notebook keeps every redraw of a text bar)
        bar.set_postfix({"train_loss": f"{row['train_loss']:.3f}", "val_loss": f"{val_loss:.3f}",
                         "val_acc": f"{val_acc:.3f}"}, refresh=False)
        bar.update(1)
        if val_loss < best_loss:
            best_loss, best_epoch, bad_epochs = val_loss, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            bad_epochs += 1
            if bad_epochs >= patience:
                break
    bar.close()
    model.load_state_dict(best_state)
    model.eval()
    history = pd.DataFrame(rows)
    history["best"] = history["epoch"] == best_epoch
    return history
