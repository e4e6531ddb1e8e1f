#!/usr/bin/env python3
"""Run the course's notebooks in place, then print a summary and refresh the README table.

    python tools/run_course.py                   # every notebooks/*.ipynb, in full mode
    python tools/run_course.py 03 05 --mode quick
    python tools/run_course.py notebooks/07_pneumonia_cnn.ipynb

Each notebook is executed with nbclient (kernel ``python3``, working directory ``notebooks/``,
``COURSE_MODE`` set for the kernel) and saved with its outputs, also when a cell fails; the
other notebooks still run, and the script exits non-zero naming the failures. Full mode has
no cell timeout. The mode defaults to ``$COURSE_MODE``, else ``full``.

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
            matches = [p for p in available if p.stem.startswith(prefix)]
            if len(matches) != 1:
                found = ", ".join(p.name for p in matches) or "none"
                raise SystemExit(f"run_course: {name!r} should name one notebook in {NOTEBOOKS}; "
                                 f"matches: {found}")
            chosen.append(matches[0])
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", metavar="NOTEBOOK",
                        help="notebook paths or number prefixes such as 03 (default: all)")
    parser.add_argument("--mode", choices=course_mode.MODES, default=None,
                        help="run mode (default: $COURSE_MODE, else full)")
    parser.add_argument("--output-dir", type=Path, default=None,
                        help="save the executed notebooks here instead of in place")
    args = parser.parse_args(argv)

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

    rows = []
    for i, path in enumerate(notebooks, 1):
        output = args.output_dir / path.name if args.output_dir else path
        print(f"[{i}/{len(notebooks)}] {path.name} ({mode} mode) ...", flush=True)
        status, seconds, error = run_notebook(path, mode, output)
        print(f"    {status} in {seconds:.1f} s{': ' + error if error else ''}", flush=True)
        rows.append((path.stem, status, seconds))

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
