"""Keras 3 on the PyTorch backend, set up the same way in every lesson, test and command.

Keras reads two environment variables once, when it is first imported:

- ``KERAS_BACKEND``: which framework runs the maths. Without it Keras looks for TensorFlow, which
  the course does not install; we use ``"torch"``.
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

from .paths import project_root

BACKEND = "torch"


def import_keras():
    """Set ``KERAS_BACKEND=torch`` and a project-local ``KERAS_HOME``, import Keras and return it.

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
    from .seeding import seed_everything

    seed_everything(seed)
    import_keras().utils.set_random_seed(seed)
