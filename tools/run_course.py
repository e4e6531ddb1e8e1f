#!/usr/bin/env python3
"""Run the course's notebooks in place, then print a summary and refresh the README table.

    python tools/run_course.py                   # every notebooks/*.ipynb, in full mode
    python tools/run_course.py 03 05 --mode quick
    python tools/run_course.py notebooks/07a_pneumonia_cnn.ipynb
    python tools/run_course.py --jobs 2          # two notebooks at a time (what ``make course`` does)

Each notebook is executed with nbclient (kernel ``python3``, working directory ``notebooks/``,
``COURSE_MODE`` set for the kernel) and saved with its outputs, also when a cell fails; the
other notebooks still run, and the script exits non-zero naming the failures. Full mode has
no cell timeout. The mode defaults to ``$COURSE_MODE``, else ``full``.

``--jobs N`` runs N notebooks at a time, each in its own process and kernel, the longest first (by the
run time recorded in ``figures/results.json``); a notebook that reads another's output (``RUNS_AFTER``)
runs after it, in the same job. Every kernel keeps the course's thread policy
(``course_utils.hardware``: half the CPUs), so two jobs fill a 2-core machine without oversubscribing
it, and the results are the same as one at a time; only the timings measured inside the lessons see
the other job's load.

Caution: a quick run also saves its (quick) outputs into the notebooks. The committed
notebooks carry the outputs of a full run, so restore them (``git checkout notebooks/``)
or use ``--output-dir`` to write the executed copies elsewhere.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
sys.path.insert(0, str(ROOT))  # use this checkout's course_utils even if it is not installed

from notebook_setup import tidy_metadata  # tools/ is on the path: this script's own folder

from course_utils import mode as course_mode
from course_utils import results as course_results

QUICK_CELL_TIMEOUT = 300  # seconds per cell in quick mode; full mode has none


def find_notebooks(names: list[str]) -> list[Path]:
    """All ``notebooks/*.ipynb`` (sorted), or the ones named by path or number prefix (``03``)."""
    available = sorted(p for p in NOTEBOOKS.glob("*.ipynb"))
    if not names:
        return available
    chosen = []
    for name in names:
        for candidate in (Path(name), ROOT / name, NOTEBOOKS / name):
            if candidate.suffix == ".ipynb" and candidate.is_file():
                chosen.append(candidate.resolve())
                break
        else:
            prefix = name.zfill(2) if name.isdigit() else name  # "3" means "03"
            matches = [p for p in available if p.stem.startswith(prefix)]   # "07": 07a and 07b
            if not matches:
                raise SystemExit(f"run_course: {name!r} names no notebook in {NOTEBOOKS}")
            chosen.extend(matches)
    return list(dict.fromkeys(chosen))  # keep the order, drop repeats


def run_notebook(path: Path, mode: str, output: Path) -> tuple[str, float, str]:
    """Execute one notebook and save it to ``output``; return (status, seconds, error summary)."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=None if mode == "full" else QUICK_CELL_TIMEOUT,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
        record_timing=False,  # no per-cell timestamps: smaller diffs of the committed notebooks
    )
    status, error = "ok", ""
    start = time.perf_counter()
    try:
        client.execute()
    except Exception as err:  # noqa: BLE001 (a failing cell, a timeout, a dead kernel: run the others)
        status = "FAILED"
        lines = re.sub(r"\x1b\[[0-9;]*m", "", str(err)).strip().splitlines()  # drop terminal colours
        error = f"{type(err).__name__}: {lines[-1] if lines else ''}"
    finally:
        seconds = time.perf_counter() - start
        output.parent.mkdir(parents=True, exist_ok=True)
        tidy_metadata(nb)  # Jupyter's kernelspec, no widget state
        nbformat.write(nb, output)  # with the outputs so far, also after a failure
    return status, seconds, error


# Notebooks that read what an earlier one wrote: lesson 05 reads lesson 04's results, lesson 06 reads
# lesson 05's weight file and results. With --jobs, such a chain runs in one job, in this order.
RUNS_AFTER = {"05": "04", "06": "05"}


def chains(notebooks: list[Path]) -> list[list[Path]]:
    """The notebooks grouped so that each runs after the one it reads from (when both are selected)."""
    groups: list[list[Path]] = []
    for path in sorted(notebooks):
        before = RUNS_AFTER.get(path.stem[:2])
        home = next((g for g in groups if before and any(p.stem[:2] == before for p in g)), None)
        if home is None:
            groups.append([path])
        else:
            home.append(path)
    return groups


def longest_first(groups: list[list[Path]]) -> list[list[Path]]:
    """The groups by their last recorded run time, longest first (a notebook never run counts as long)."""
    results = course_results.load_results()

    def recorded_seconds(path: Path) -> float:
        entry = results.get(path.stem)
        seconds = entry.get("seconds") if isinstance(entry, dict) else None
        return float(seconds) if isinstance(seconds, (int, float)) else float("inf")

    return sorted(groups, key=lambda g: sum(recorded_seconds(p) for p in g), reverse=True)


def run_group(group: list[Path], mode: str, outputs: dict) -> list[tuple]:
    """Run the notebooks of one group one after the other; one (path, status, seconds, error) each."""
    return [(path, *run_notebook(path, mode, outputs[path])) for path in group]


def run_in_parallel(notebooks: list[Path], mode: str, outputs: dict, jobs: int) -> list[tuple]:
    """Run the notebooks ``jobs`` at a time, longest first; rows in the order of ``notebooks``."""
    groups = longest_first(chains(notebooks))
    plan = ", ".join("+".join(p.stem[:2] for p in g) for g in groups)
    print(f"{len(notebooks)} notebooks, {jobs} at a time, longest first: {plan} ({mode} mode)", flush=True)
    finished = {}
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for future in [pool.submit(run_group, g, mode, outputs) for g in groups]:
            for path, status, seconds, error in future.result():   # printed as each group is collected
                print(f"    {path.name}: {status} in {seconds:.1f} s{': ' + error if error else ''}",
                      flush=True)
                finished[path] = (path.stem, status, seconds)
    return [finished[path] for path in notebooks]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", metavar="NOTEBOOK",
                        help="notebook paths or number prefixes such as 03 (default: all)")
    parser.add_argument("--mode", choices=course_mode.MODES, default=None,
                        help="run mode (default: $COURSE_MODE, else full)")
    parser.add_argument("--output-dir", type=Path, default=None,
                        help="save the executed notebooks here instead of in place")
    parser.add_argument("--jobs", type=int, default=1,
                        help="notebooks run at the same time, each in its own kernel (default 1)")
    args = parser.parse_args(argv)

    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    mode = args.mode or course_mode.run_mode()
    notebooks = find_notebooks(args.notebooks)
    if not notebooks:
        print(f"run_course: no notebooks in {NOTEBOOKS}")
        return 0

    # The kernel inherits this environment: the run mode, and matplotlib's inline backend
    # (an MPLBACKEND=Agg left over from the tests would keep the figures out of the notebooks).
    os.environ["COURSE_MODE"] = mode
    # Text progress bars: a saved notebook then shows the finished bar (GitHub cannot draw widgets).
    os.environ["COURSE_PROGRESS"] = "text"
    os.environ.pop("MPLBACKEND", None)

    outputs = {path: args.output_dir / path.name if args.output_dir else path for path in notebooks}
    if args.jobs == 1:
        rows = []
        for i, path in enumerate(notebooks, 1):
            print(f"[{i}/{len(notebooks)}] {path.name} ({mode} mode) ...", flush=True)
            status, seconds, error = run_notebook(path, mode, outputs[path])
            print(f"    {status} in {seconds:.1f} s{': ' + error if error else ''}", flush=True)
            rows.append((path.stem, status, seconds))
    else:
        rows = run_in_parallel(notebooks, mode, outputs, args.jobs)

    results = course_results.load_results()
    print()
    print(f"{'notebook':<28} {'status':<7} {'seconds':>8}  headline (results.json)")
    for stem, status, seconds in rows:
        entry = results.get(stem)
        if isinstance(entry, dict):
            note = course_results.headline(stem, entry.get("metrics") or {})
            if entry.get("mode") != mode:
                note = f"[{entry.get('mode')} run] {note}"
        else:
            note = "(nothing recorded)"
        print(f"{stem:<28} {status:<7} {seconds:>8.1f}  {note}")

    try:
        changed = course_results.update_readme()
        print("README.md table updated" if changed else "README.md table already up to date")
    except (OSError, ValueError) as err:
        print(f"run_course: README.md table not updated: {err}")

    failed = [stem for stem, status, _ in rows if status != "ok"]
    if failed:
        print(f"run_course: {len(failed)} of {len(rows)} notebooks failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
