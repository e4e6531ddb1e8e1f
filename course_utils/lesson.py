"""The start and the end of every notebook: seed, mode, threads, clock, figures and results.

    lesson = start_lesson("01_lstm_cell_by_hand")   # seeds everything, sets the threads, prints the mode
    ...
    lesson.savefig(fig, "gates")                    # figures/01_lstm_cell_by_hand/gates.png
    lesson.record({"max_abs_diff_torch": 1e-16})    # figures/results.json, with the run time
"""

from __future__ import annotations

import time
from pathlib import Path

from .hardware import THREADS_ENV, set_threads
from .mode import run_mode
from .paths import figures_dir, project_root
from .plotting import save_figure, use_course_style
from .results import record_results
from .seeding import seed_everything


class Lesson:
    """A running notebook: its stem, mode, seed, threads and start time."""

    def __init__(self, notebook: str, seed: int = 0):
        self.notebook = notebook
        self.seed = seed
        self.mode = run_mode()
        self.threads = set_threads()   # the course's thread policy (course_utils.hardware)
        self.rng = seed_everything(seed)
        self.started = time.perf_counter()
        use_course_style()

    @property
    def seconds(self) -> float:
        """Seconds since the lesson started."""
        return time.perf_counter() - self.started

    @property
    def figures(self) -> Path:
        """This lesson's figure folder (``figures/_quick/<stem>`` in quick mode)."""
        return figures_dir(self.notebook, self.mode)

    def savefig(self, fig, name: str) -> Path:
        """Save ``fig`` as ``<name>.png`` in :attr:`figures` and return the path."""
        return save_figure(fig, self.notebook, name, mode=self.mode)

    def record(self, metrics: dict) -> dict:
        """Write the headline numbers and the run time to ``figures/results.json``."""
        return record_results(self.notebook, metrics, seconds=round(self.seconds, 1), mode=self.mode)

    def __repr__(self) -> str:
        return f"Lesson({self.notebook!r}, mode={self.mode!r}, seed={self.seed}, threads={self.threads})"


def start_lesson(notebook: str, seed: int = 0) -> Lesson:
    """Seed everything, set the threads, apply the plot style, start the clock and print the mode."""
    lesson = Lesson(notebook, seed)
    print(f"{notebook}: mode={lesson.mode} (set COURSE_MODE=quick|full), seed={seed}, "
          f"threads={lesson.threads} (set {THREADS_ENV}), "
          f"figures -> {lesson.figures.relative_to(project_root())}")
    return lesson
