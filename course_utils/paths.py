"""Where the course's folders are: the project root, ``data/`` and ``figures/``.

The root is the folder that holds ``course_utils/`` and ``pyproject.toml`` when the package
is installed from a checkout (``pip install -e .``, the normal case). Otherwise (a plain
install on Colab, say) it is the current working directory. ``$COURSE_ROOT`` overrides both.
"""

from __future__ import annotations

import os
from pathlib import Path

from .mode import run_mode


def project_root() -> Path:
    """The course checkout, or the working directory when the package is not in one."""
    if os.environ.get("COURSE_ROOT"):
        return Path(os.environ["COURSE_ROOT"]).resolve()
    here = Path(__file__).resolve().parent.parent
    if (here / "pyproject.toml").is_file() and (here / "course_utils").is_dir():
        return here
    return Path.cwd().resolve()


def data_dir() -> Path:
    """``<root>/data``: the course's own data files, and ``cache/`` for downloads."""
    return project_root() / "data"


def figures_dir(notebook: str | None = None, mode: str | None = None) -> Path:
    """``<root>/figures`` or, given a notebook stem such as ``"01_lstm_cell_by_hand"``, its folder.

    In quick mode a notebook's figures go to ``figures/_quick/<stem>`` (git-ignored), so that
    the test run never overwrites the figures of a full run. ``mode``: the lesson's mode (a running
    :class:`~course_utils.lesson.Lesson` passes its own); by default :func:`~course_utils.mode.run_mode`.
    The folder is created if missing.
    """
    path = project_root() / "figures"
    if notebook:
        quick = (mode or run_mode()) == "quick"
        path = path / ("_quick" if quick else "") / notebook
    path.mkdir(parents=True, exist_ok=True)
    return path
