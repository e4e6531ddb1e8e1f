"""Static checks of the committed notebooks: what they ask for, how they are saved.

- Every registered data file a notebook asks for, in quick and in full mode, ships in data/ (so the course
  runs with no mirror and no network); the others are optional downloads with a URL.
- Set-up cells, Colab badges, the README's repository link and the kernelspec are as
  tools/notebook_setup.py writes them; no widget state is saved.
- Saved outputs show one line per progress bar (no carriage-return redraws).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_utils.data import REGISTRY
from course_utils.lessons.pneumonia.data import pneumonia_data_name

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
MODES = ("quick", "full")

# What each lesson reads from the registry (the course's own data in data/medical, data/emoji and
# data/text_classification is read directly and is not registered). Lessons not listed ask for nothing.
EXPECTED_DATA = {"02_char_lstm_dickens": {"dickens"}, "07a_pneumonia_cnn": {"pneumoniamnist_28_balanced"},
                 "07b_pneumonia_robust": {"pneumoniamnist_28_balanced"}}


def code_of(path: Path) -> ast.Module:
    """The notebook's code cells as one module (IPython magics and shell lines dropped)."""
    nb = nbformat.read(path, as_version=4)
    lines = [line for cell in nb.cells if cell.cell_type == "code" for line in cell.source.splitlines()
             if not line.lstrip().startswith(("%", "!"))]
    return ast.parse("\n".join(lines))


def constant(node: ast.AST, names: dict, mode: str):
    """The value of a literal, of a name bound to one, or of ``pick(quick=..., full=...)``, in ``mode``."""
    if isinstance(node, ast.Name):
        if node.id not in names:
            raise LookupError(f"{node.id} is not bound to a constant at the top level")
        node = names[node.id]
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "pick":
        node = next(k.value for k in node.keywords if k.arg == mode)
    return ast.literal_eval(node)


def requested_data(path: Path, mode: str) -> set[str]:
    """Registry names asked for by ``fetch(name)`` and ``load_pneumonia(source, size)`` in ``mode``.

    Raises ``LookupError`` when an argument is not a constant this scan can follow: then the test cannot
    tell which file the notebook needs, and says so rather than passing.
    """
    tree = code_of(path)
    names = {t.id: node.value for node in tree.body if isinstance(node, ast.Assign)
             for t in node.targets if isinstance(t, ast.Name)}
    found = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = getattr(node.func, "id", getattr(node.func, "attr", None))
        args = {**dict(enumerate(node.args)), **{k.arg: k.value for k in node.keywords}}
        if func == "fetch":
            found.add(constant(args.get(0, args.get("name_or_datafile")), names, mode))
        elif func == "load_pneumonia":
            source = (constant(args.get(0, args.get("source")), names, mode)
                      if (0 in args or "source" in args) else "balanced")
            size = (constant(args.get(1, args.get("size")), names, mode)
                    if (1 in args or "size" in args) else 28)
            found.add(pneumonia_data_name(source, size))
    return found


def test_the_scan_follows_names_and_pick(tmp_path):
    source = ('SOURCE = "official"\nSIZE = pick(quick=28, full=64)\n'
              'd = load_pneumonia(SOURCE, SIZE)\nfetch("dickens")\n')
    path = tmp_path / "probe.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)]), path)
    assert requested_data(path, "quick") == {"pneumoniamnist_28", "dickens"}
    assert requested_data(path, "full") == {"pneumoniamnist_64", "dickens"}
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("fetch(input())")]), path)
    with pytest.raises((LookupError, ValueError)):
        requested_data(path, "full")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_data_file_a_notebook_asks_for_ships(path, mode):
    asked = requested_data(path, mode)
    assert asked == EXPECTED_DATA.get(path.stem, set()), f"{path.name} in {mode} mode asks for {asked}"
    for name in asked:
        entry = REGISTRY[name]
        assert entry.ships and (REPO / "data" / entry.filename).is_file(), f"{name} does not ship in data/"


def test_every_registered_file_ships_or_is_an_optional_download():
    for name, entry in REGISTRY.items():
        assert entry.ships or entry.url, name
        if entry.ships:
            assert (REPO / "data" / entry.filename).is_file(), f"{entry.filename} is missing from data/"


def test_setup_cells_badges_readme_and_metadata_are_as_the_template_writes_them():
    done = subprocess.run([sys.executable, str(REPO / "tools" / "notebook_setup.py"), "--check"],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_saved_notebook_metadata_and_progress_lines(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata["kernelspec"]["display_name"] == "Python 3 (ipykernel)"
    assert "widgets" not in nb.metadata, "widget state is saved: a reopened notebook cannot draw it"
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            text = out.get("text", "")
            assert "\r" not in text, f"cell {i}: a progress bar redrawn in the saved output"
            assert "application/vnd.jupyter.widget-view+json" not in out.get("data", {}), (
                f"cell {i}: a widget")
