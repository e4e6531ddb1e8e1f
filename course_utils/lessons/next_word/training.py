"""Next-word prediction (lessons 04-06): training the NumPy models.

(The per-sample loop that batching is timed against is written in the notebooks themselves.)
"""

from __future__ import annotations

import pandas as pd

from course_utils.hardware import limit_blas_threads
from course_utils.lessons.next_word.models import CNNLSTMNextWord, CNNNextWord
from course_utils.losses import softmax_cross_entropy
from course_utils.metrics import accuracy, top5_accuracy
from course_utils.optim import SGD, Adam, weight_decay_by_name
from course_utils.training import train


def fit_next_word(model, optimizer, train_data, val_data, *, epochs: int, batch_size: int,
                  clip_norm: float | None = None, patience: int | None = None, lr_decay: float | None = None,
                  rng=None, progress: bool = True, desc: str = "training",
                  blas_threads: int | None = 1, train_sample: int | None = 8192) -> pd.DataFrame:
    """Train ``model`` with :func:`course_utils.training.train`; return the history, one row per epoch.

    After each epoch the model is scored in evaluation mode on the whole validation set and on
    ``train_sample`` training examples (the same random ones every epoch; ``None``: all of them),
    which gives the training loss to about two decimals for a fraction of the time.
    Columns: ``epoch, train_loss, train_acc, train_top5, val_loss,
    val_acc, val_top5`` (loss: mean cross-entropy in nats), ``seconds`` (the training pass alone:
    forward, backward, update), ``eval_seconds``, ``grad_norm`` when clipping, and ``lr`` with
    ``lr_decay`` (the learning rate is multiplied by it after every epoch).

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
                     batch_size=batch_size, clip_norm=clip_norm,
                     metrics={"acc": accuracy, "top5": top5_accuracy},
                     patience=patience, eval_train=True if train_sample is None else train_sample,
                     lr_decay=lr_decay, rng=rng, progress=progress, desc=desc)


def train_cnn(model: CNNNextWord, train_data, val_data, *, epochs: int, batch_size: int = 64,
              lr: float = 1e-3, optimizer: str = "adam", momentum: float = 0.9, patience: int | None = None,
              weight_decay: float | dict | None = None, lr_decay: float | None = None, rng=None,
              progress: bool = True) -> pd.DataFrame:
    """Lesson 04: mini-batch Adam (``optimizer="adam"``) or SGD with momentum (``"sgd"``, PyTorch's
    convention, see ``course_utils.SGD``; ``momentum`` is used only there).

    ``weight_decay``: L2 penalties by the readable names of the weight file, e.g.
    ``{"dense.W": 1e-3}`` for the output layer's ``(F, V)`` matrix alone, which holds most of the
    weights and memorises the training sentences first (see ``course_utils.optim``).
    ``lr_decay``: the learning rate is multiplied by it after every epoch.

    Returns the history of :func:`fit_next_word`: training and validation loss, accuracy and
    top-5 accuracy per epoch, and the seconds of each training pass. ``patience=None`` trains
    all ``epochs``; a number stops early on the validation loss and keeps the best epoch's weights.
    """
    if optimizer not in ("adam", "sgd"):
        raise ValueError(f"optimizer: expected 'adam' or 'sgd', got {optimizer!r}")
    decay = decay_by_key(model, weight_decay)
    opt = (Adam(model.params, lr=lr, weight_decay=decay) if optimizer == "adam"
           else SGD(model.params, lr=lr, momentum=momentum, weight_decay=decay))
    return fit_next_word(model, opt, train_data, val_data, epochs=epochs, batch_size=batch_size,
                         patience=patience, lr_decay=lr_decay, rng=rng, progress=progress, desc="CNN")


def train_cnn_lstm(model: CNNLSTMNextWord, train_data, val_data, *, epochs: int, batch_size: int = 64,
                   lr: float = 2e-3, clip_norm: float = 5.0, patience: int = 4,
                   weight_decay: float | dict | None = None, lr_decay: float | None = None, rng=None,
                   progress: bool = True) -> pd.DataFrame:
    """Lesson 05: Adam with gradient clipping and early stopping on the validation loss.

    ``weight_decay`` and ``lr_decay`` as in :func:`train_cnn`. Returns the history of
    :func:`fit_next_word` (training and validation loss and accuracy per epoch, top-5 too, and a
    ``best`` column); the model keeps the best epoch's weights.
    """
    optimizer = Adam(model.params, lr=lr, weight_decay=decay_by_key(model, weight_decay))
    return fit_next_word(model, optimizer, train_data, val_data, epochs=epochs, batch_size=batch_size,
                         clip_norm=clip_norm, patience=patience, lr_decay=lr_decay, rng=rng,
                         progress=progress, desc="CNN+LSTM")


def decay_by_key(model, weight_decay: float | dict | None) -> dict:
    """Weight decay by the weight file's readable names -> by the keys of ``model.params``.

    ``{"dense.W": 1e-3}`` -> ``{"7.W": 1e-3}``; a number applies to every parameter; ``None``: none.
    Checked (names and values) under the readable names, as the learner wrote them.
    """
    by_name = weight_decay_by_name({} if weight_decay is None else weight_decay, model.param_names)
    return {model.param_names[name]: wd for name, wd in by_name.items()}
