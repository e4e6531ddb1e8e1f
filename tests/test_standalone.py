"""The stand-alone path, as Colab and Kaggle take it: a notebook alone in an empty folder, in a Python where
``course_utils`` is not installed. Its set-up cell clones the course from ``$COURSE_REPO_URL`` (here a
``file://`` repository made from this checkout's files), installs it, and the lesson runs in quick mode.

The kernel runs in a throwaway virtual environment that sees this project's installed packages (numpy,
torch, ipykernel ...) through a path file, but not ``course_utils``, so the set-up cell must install it.
pip runs offline (``--no-index``): every dependency is already there, as on Colab.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sysconfig
import venv
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
# the shortest lesson that imports the package, torch and the data path
NOTEBOOK = "01_lstm_cell_by_hand.ipynb"


def run(*args, **kwargs):
    return subprocess.run(args, check=True, capture_output=True, text=True, timeout=300, **kwargs)


@pytest.fixture(scope="module")
def repository(tmp_path_factory) -> str:
    """A git repository of this checkout's tracked files as they are now (uncommitted edits included)."""
    repo = tmp_path_factory.mktemp("published") / "lstm-cnn-course"
    files = run("git", "ls-files", "-z", cwd=REPO).stdout.split("\0")
    for name in filter(None, files):
        if (REPO / name).is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, repo / name)
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    run("git", "init", "--quiet", "--initial-branch", "main", cwd=repo)
    run("git", "add", "--all", cwd=repo)
    run("git", "commit", "--quiet", "--message", "snapshot", cwd=repo, env=env)
    return repo.as_uri()


@pytest.fixture
def bare_python(tmp_path_factory) -> Path:
    """A virtual environment that sees this environment's packages except ``course_utils`` (one per test:
    the set-up cell installs the course into it)."""
    where = tmp_path_factory.mktemp("colab")
    venv.EnvBuilder(with_pip=False).create(where / "venv")
    python = where / "venv" / "bin" / "python"
    site = Path(run(str(python), "-c",
                    "import sysconfig; print(sysconfig.get_path('purelib'))").stdout.strip())
    # A plain path line: the packages are importable, but the .pth files there (the editable install of
    # course_utils among them) are not processed, so course_utils is not.
    (site / "course_env.pth").write_text(sysconfig.get_path("purelib") + "\n")
    probe = run(str(python), "-c", "import importlib.util as u; print(u.find_spec('course_utils') is None, "
                                   "u.find_spec('numpy') is not None, u.find_spec('ipykernel') is not None)",
                cwd=where)
    assert probe.stdout.split() == ["True", "True", "True"], probe.stdout
    return python


def kernel_env(python: Path, folder: Path, **extra) -> dict:
    """Environment of the throwaway kernel: its own kernelspec, offline pip, quick mode."""
    spec = folder / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (ipykernel)", "language": "python"}))
    env = {k: v for k, v in os.environ.items()
           if k not in ("COURSE_ROOT", "COURSE_DATA_MIRROR", "PYTHONPATH")}
    return {**env, "JUPYTER_PATH": str(folder / "jupyter"), "PIP_NO_INDEX": "1",
            "PIP_NO_BUILD_ISOLATION": "0", "PIP_DISABLE_PIP_VERSION_CHECK": "1", "COURSE_MODE": "quick",
            "COURSE_PROGRESS": "text", "MPLBACKEND": "Agg", **extra}


def execute(notebook: Path, env: dict) -> nbformat.NotebookNode:
    """Run the notebook in a kernel started with ``env`` (nbclient, as tools/run_course.py does)."""
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)        # the kernel process inherits this environment
    try:
        NotebookClient(nb, kernel_name="python3", timeout=600,
                       resources={"metadata": {"path": str(notebook.parent)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return nb


def test_a_notebook_alone_clones_installs_and_runs(repository, bare_python, tmp_path):
    folder = tmp_path / "colab"
    folder.mkdir()
    shutil.copy(REPO / "notebooks" / NOTEBOOK, folder / NOTEBOOK)
    nb = execute(folder / NOTEBOOK, kernel_env(bare_python, tmp_path, COURSE_REPO_URL=repository))
    clone = folder / "lstm-cnn-course"
    assert (clone / "course_utils" / "__init__.py").is_file() and (clone / "data").is_dir()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    start = next(c for c in nb.cells if c.cell_type == "code" and "start_lesson(" in c.source)
    printed = "".join(o.get("text", "") for o in start.outputs)
    assert "mode=quick" in printed
    # the lesson found its folders in the clone: its quick-mode figures are there
    assert list((clone / "figures" / "_quick" / "01_lstm_cell_by_hand").glob("*.png"))


def test_a_clone_that_fails_stops_with_one_clear_error(bare_python, tmp_path):
    from nbclient.exceptions import CellExecutionError

    folder = tmp_path / "colab"
    folder.mkdir()
    shutil.copy(REPO / "notebooks" / NOTEBOOK, folder / NOTEBOOK)
    missing = (tmp_path / "no-such-repository").as_uri()
    with pytest.raises(CellExecutionError) as info:
        execute(folder / NOTEBOOK, kernel_env(bare_python, tmp_path, COURSE_REPO_URL=missing))
    message = str(info.value)
    assert "RuntimeError" in message and "Setting up the course failed: git clone" in message
    assert missing in message and "COURSE_REPO_URL" in message
    assert "ModuleNotFoundError" not in message
