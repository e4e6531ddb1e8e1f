"""Keras 3 on the PyTorch backend, set up the same way in every lesson, test and command,
and trained the same way (:func:`fit_with_early_stopping`).

Keras reads three environment variables once, when it is first imported:

- ``KERAS_BACKEND``: which framework runs the maths. Without it Keras looks for TensorFlow, which
  the course does not install; we use ``"torch"``.
- ``KERAS_TORCH_DEVICE``: where the PyTorch backend computes; we set it from
  :func:`course_utils.hardware.choose_device` (CUDA when available, else the CPU), so that Keras and
  the PyTorch lessons make one choice.
- ``KERAS_HOME``: where Keras writes its config file (``keras.json``) and caches. By default that is
  ``~/.keras``; we keep it inside the project (``.keras/``, git-ignored) so a lesson writes nothing
  into the learner's home directory.

So always get Keras through :func:`import_keras`::

    keras = import_keras()          # instead of "import keras"
    seed_keras(0)                   # Python, NumPy, torch and Keras's own generator
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import pandas as pd

from .hardware import choose_device
from .paths import project_root
from .progress import progress_bar
from .seeding import seed_everything

BACKEND = "torch"


def import_keras():
    """Set ``KERAS_BACKEND=torch``, the device and a project-local ``KERAS_HOME``, import Keras, return it.

    Raises ``RuntimeError`` if Keras was already imported with another backend, or if
    ``KERAS_BACKEND`` names another backend: switching backends needs a fresh Python process.
    """
    requested = os.environ.get("KERAS_BACKEND", BACKEND)
    if requested != BACKEND:
        raise RuntimeError(
            f"KERAS_BACKEND is {requested!r}; the course runs Keras on the PyTorch backend. "
            f"Unset it or set KERAS_BACKEND={BACKEND} before starting Python."
        )
    if "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = BACKEND
        # The device: the course's choice (the GPU when there is one), unless the learner set one for Keras.
        os.environ.setdefault("KERAS_TORCH_DEVICE", str(choose_device()))
        home = os.environ.setdefault("KERAS_HOME", str(project_root() / ".keras"))
        os.makedirs(home, exist_ok=True)
    import keras

    if keras.backend.backend() != BACKEND:
        raise RuntimeError(
            f"Keras was imported before import_keras() with the {keras.backend.backend()!r} backend; "
            f"restart the kernel and call import_keras() first (it sets KERAS_BACKEND={BACKEND})."
        )
    return keras


def seed_keras(seed: int = 0) -> None:
    """Seed Python, NumPy, PyTorch and Keras (``keras.utils.set_random_seed``) with one integer.

    Also seeds the course's NumPy generator (:func:`course_utils.seeding.seed_everything`).
    """
    seed_everything(seed)
    import_keras().utils.set_random_seed(seed)


def _epoch_progress(epochs: int, desc: str):
    """A Keras callback that drives the course's progress bar (one tick per epoch) and times each epoch."""
    keras = import_keras()

    class EpochProgress(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.bar = progress_bar(total=epochs, desc=desc)
            self.seconds, self.start = [], time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.start)
            self.start = time.perf_counter()
            # refresh=False: the bar redraws on its own schedule, not once more per epoch for the numbers
            self.bar.set_postfix({k: f"{v:.3f}" for k, v in (logs or {}).items()}, refresh=False)
            self.bar.update(1)

        def on_train_end(self, logs=None):
            self.bar.close()

    return EpochProgress()


def fit_with_early_stopping(model, train_data, val_data, *, epochs: int, batch_size: int, patience: int,
                            desc: str = "training") -> pd.DataFrame:
    """``model.fit`` (compiled already) with early stopping on the validation loss; return the history.

    ``train_data``, ``val_data``: ``(X, y)`` in whatever form the model's loss expects. After
    ``patience`` epochs without a lower validation loss, training stops and the best epoch's weights
    are put back (``restore_best_weights=True``): the validation split chooses the epoch, so report
    results on a separate test split.

    The history has one row per epoch: ``epoch``, ``train_loss`` and ``train_<metric>`` (Keras's running
    means over the epoch, dropout on), ``val_loss`` and ``val_<metric>`` (end of the epoch, dropout off),
    ``seconds``, and ``best`` (True on the epoch whose weights were kept).
    """
    keras = import_keras()
    progress = _epoch_progress(epochs, desc)
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
    fitted = model.fit(*train_data, validation_data=val_data, epochs=epochs, batch_size=batch_size,
                       shuffle=True, callbacks=[stop, progress], verbose=0)
    history = pd.DataFrame(fitted.history)
    history = history.rename(columns={k: f"train_{k}" for k in history.columns if not k.startswith("val_")})
    history.insert(0, "epoch", np.arange(1, len(history) + 1))
    history["seconds"] = progress.seconds
    history["best"] = history.index == history["val_loss"].idxmin()   # the epoch EarlyStopping restored
    return history
