"""Every numbered notebook runs top to bottom in quick mode: its test cells are the bulk of the test suite."""
from pathlib import Path
import papermill as pm
import pytest

NBS = Path(__file__).resolve().parent.parent / "nbs"
NOTEBOOKS = sorted(NBS.glob("[0-9][0-9]_*.ipynb"))

def test_notebooks_found():
    assert len(NOTEBOOKS) >= 6, NOTEBOOKS

@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_quick(nb, tmp_path):
    pm.execute_notebook(str(nb), str(tmp_path / nb.name), parameters=dict(quick=True, fig_dir=str(tmp_path / "figs")),
                        cwd=str(NBS), kernel_name="python3", progress_bar=False)
