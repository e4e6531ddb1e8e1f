"""The run mode: ``quick`` for CI and tests, ``full`` for the real lesson.

Set it with the environment variable ``COURSE_MODE`` before the notebook starts::

    COURSE_MODE=quick jupyter nbconvert --execute ...

``full`` is the default, so a learner who opens a notebook gets the real lesson.
"""

from __future__ import annotations

import os

MODES = ("quick", "full")


def run_mode() -> str:
    """Return ``"quick"`` or ``"full"`` from ``$COURSE_MODE`` (default ``"full"``)."""
    mode = os.environ.get("COURSE_MODE", "full").strip().lower() or "full"
    if mode not in MODES:
        raise ValueError(f"COURSE_MODE must be one of {MODES}, got {mode!r}")
    return mode


def is_quick() -> bool:
    """True in quick mode (CI, tests)."""
    return run_mode() == "quick"


def pick(*, quick, full):
    """Choose a setting by mode, e.g. ``epochs = pick(quick=2, full=30)``."""
    return quick if is_quick() else full
