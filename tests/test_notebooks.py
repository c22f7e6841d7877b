"""Every numbered notebook runs top to bottom in quick mode (its test cells are the bulk of the test suite), and the
numbers it records must equal the regression reference in tests/reference/ within each metric's tolerance.
Each finished run is left in the session's `quick-runs` folder (`quick_runs_dir`) for the book's test to show instead of
executing the chapter a second time; a run that raised leaves `<chapter>.failed` there, so nothing waits for it."""
import os, shutil
from pathlib import Path
import papermill as pm
import pytest
from mtif.cli import check_chapter, kernel_manager_class

ROOT = Path(__file__).resolve().parent.parent
NBS = Path(os.environ.get("MTIF_NBS", ROOT / "nbs"))                       # overridable: tests/test_regression.py
REFERENCE = Path(os.environ.get("MTIF_REFERENCE", ROOT / "tests" / "reference"))
NOTEBOOKS = sorted(NBS.glob("[0-9][0-9]_*.ipynb")) + [p for p in [NBS / "index.ipynb"] if p.exists()]   # the chapters and the tour

def test_notebooks_found():
    assert len(NOTEBOOKS) >= 1 if "MTIF_NBS" in os.environ else len(NOTEBOOKS) >= 6, NOTEBOOKS

def quick_runs_dir(tmp_path_factory) -> Path:
    "The folder this test session's workers share for executed quick runs (under xdist each worker has its own basetemp below it)."
    base = tmp_path_factory.getbasetemp()
    worker = os.environ.get("PYTEST_XDIST_WORKER") and base.name.startswith("popen-")   # not a pytest this one started
    d = (base.parent if worker else base) / "quick-runs"
    d.mkdir(exist_ok=True)
    return d

@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_quick(nb, tmp_path, tmp_path_factory):
    figs, runs = tmp_path / "figs", quick_runs_dir(tmp_path_factory)
    try:
        pm.execute_notebook(str(nb), str(tmp_path / nb.name), parameters=dict(quick=True, fig_dir=str(figs)),
                            cwd=str(NBS), kernel_name="python3", progress_bar=False,
                            kernel_manager_class=kernel_manager_class())
    except BaseException:
        (runs / f"{nb.stem}.failed").touch(); raise
    shutil.copy(tmp_path / nb.name, runs / f".{nb.name}.part")          # whole or absent: the book's test polls for it
    os.replace(runs / f".{nb.name}.part", runs / nb.name)
    moved = check_chapter(figs, nb.stem, REFERENCE)
    assert not moved, (f"{len(moved)} number(s) of {nb.stem} moved against {REFERENCE} "
                       "(if intended: `mtif reproduce --quick --accept --only " + nb.stem[:2] + "`):\n" + "\n".join(moved))

@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_parameters_cell_is_read_by_papermill(nb):
    "Every name the `parameters` cell assigns is a parameter papermill sees (a comment it cannot parse hides the name)."
    import ast, json
    cells = [c for c in json.loads(nb.read_text(encoding="utf-8"))["cells"] if "parameters" in c["metadata"].get("tags", [])]
    assert len(cells) == 1, f"{nb.stem}: {len(cells)} cells tagged 'parameters'"
    names = {t.id for s in ast.parse("".join(cells[0]["source"])).body if isinstance(s, ast.Assign) for t in s.targets}
    assert "quick" in names, nb.stem
    seen = set(pm.inspect_notebook(str(nb)))
    assert names <= seen, f"{nb.stem}: papermill cannot parse the lines of {sorted(names - seen)} (reword their comments)"
