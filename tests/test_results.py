"""The published results: the README's tables and figures/REPORT.md are what `mtif report` makes of the committed
full-run CSVs, every summary is in the numeric format, and the paper's tables equal the paper's text."""
import os
from pathlib import Path
import pytest
from mtif import paper
from mtif.cli import report
from mtif.results import read_summary
from mtif.report import load_summaries

ROOT = Path(__file__).resolve().parent.parent

def test_readme_and_report_match_the_csvs():
    report(ROOT / "figures", ROOT / "README.md", check=True)    # raises, naming the stale file, if they disagree

def test_every_committed_summary_is_numeric_and_carries_the_papers_values():
    s = load_summaries(ROOT / "figures")
    assert len(s) and s.value.dtype == float
    withtable = s[s.table.notna() & (s.task != "mean")]
    assert withtable.paper.notna().all(), withtable[withtable.paper.isna()][["chapter", "metric", "task"]]
    for n in sorted(set(withtable.table.dropna().astype(int))):   # each paper value is the paper's, via mtif.paper
        t = withtable[withtable.table == n].iloc[0]
        assert t.paper == paper.lookup(n, t.row, t.task)[0]

@pytest.mark.skipif(not (ROOT.parent / "shared" / "paper" / "mtif_paper.md").exists(), reason="the paper's text is not beside this checkout")
def test_paper_tables_equal_the_text_cell_for_cell():
    import pandas as pd
    pd.testing.assert_frame_equal(paper.parse_tables(ROOT.parent / "shared" / "paper" / "mtif_paper.md"), paper.cells(), check_dtype=False)

def test_issue14_status_reads_the_committed_per_seed_csvs(capsys):
    "scripts/issue14_status.py: its interim Table 3 change for EW is the paired change of the committed seed CSVs."
    import runpy, re
    import numpy as np, pandas as pd
    runpy.run_path(str(ROOT / "scripts" / "issue14_status.py"), run_name="status")["main"](ROOT / "figures")
    out = capsys.readouterr().out
    runs = pd.concat([pd.read_csv(f) for f in sorted((ROOT / "figures" / "celeba_selection_weighting_protocol").glob("seed*.csv"))])
    ew = runs[(runs.method == "EW") & runs.fraction.isin([0.0, 0.05])].pivot_table(index="seed", columns="rule", values="test_acc")
    d = 100 * (ew["mtif"] - ew["none"])
    line = next(l for l in out.splitlines() if l.strip().startswith("EW "))
    assert f"{d.mean():+.2f} ± {d.std(ddof=1) / np.sqrt(len(d)):.2f} (n={len(d)})" in line, line
    assert re.search(r"CPU hours left .* total \d+\.\d", out)

def test_every_reference_declares_its_kind_and_its_tolerance_follows_from_it():
    """The regression references: each metric's kind is exact or stochastic; an exact one has the floating-point
    tolerance; a stochastic one has a measured spread, and its tolerance is the one that spread gives (so a hand-raised
    tolerance is caught); a dropped one (spread as large as its value) is the only kind with an infinite tolerance."""
    import math
    from mtif.reference import read_reference, unmeasured_spreads, stochastic_tolerance, EXACT_TOL
    ref = ROOT / "tests" / "reference"
    assert not unmeasured_spreads(ref), ("stochastic metrics without a measured spread: run `python scripts/measure_spread.py "
                                          "--only NN` for them:\n" + "\n".join(unmeasured_spreads(ref)[:20]))
    files = sorted(ref.glob("summary_*.csv"))
    assert len(files) >= 15 and not list(ref.glob("tolerances*.csv"))
    for f in files:
        r = read_reference(f)
        assert set(r.kind) <= {"exact", "stochastic"}, f
        ex, st = r[r.kind == "exact"], r[r.kind == "stochastic"]
        assert (ex.rtol == EXACT_TOL[0]).all() and (ex.atol == EXACT_TOL[1]).all() and (ex.atol_se == EXACT_TOL[1]).all(), f
        assert (st.rtol == 0).all() and (st.runs >= 3).all(), f
        for x in st.itertuples():
            assert x.atol == stochastic_tolerance(x.value, x.spread, x.runs), (f.name, x.metric, x.task, x.atol)
            assert x.atol_se == stochastic_tolerance(x.se, x.spread_se, x.runs), (f.name, x.metric, x.task, x.atol_se)


def test_celeba_estimator_script_runs_and_resumes(tmp_path):
    """scripts/celeba_estimators.py (chapter 27's cells from the shell): the four kinds of cell run at smoke size into their own
    folder (cells and checkpoints), resume without computing again, and summarize against chapter 12's committed ground
    truth. (The rules and the summary themselves are tested in chapter 27.)"""
    import subprocess, sys
    if not (ROOT.parent / "shared" / "data" / "celeba").exists() and not os.environ.get("MTIF_DATA"): pytest.skip("no CelebA data")
    env = dict(os.environ, MTIF_DATA=os.environ.get("MTIF_DATA", str(ROOT.parent / "shared" / "data")), OMP_NUM_THREADS="1")
    run = lambda *extra: subprocess.run([sys.executable, str(ROOT / "scripts" / "celeba_estimators.py"), "--smoke", str(tmp_path), "--seeds", "1",
                                         *extra], capture_output=True, text=True, env=env, timeout=600)
    first = run("--models", "2"); assert first.returncode == 0, first.stderr[-2000:]
    dm = run("--models", "2", "--scorer", "damping"); assert dm.returncode == 0, dm.stderr[-2000:]
    eg = run("--models", "1", "--scorer", "ekfac_gn"); assert eg.returncode == 0, eg.stderr[-2000:]
    ek = run("--models", "1", "--scorer", "ekfac"); assert ek.returncode == 0, ek.stderr[-2000:]
    files = {f: (tmp_path / f).read_text() for f in ("cells.csv", "ekfac_cells.csv", "damping_cells.csv", "ekfac_gn_cells.csv")}
    assert "2 cells (seed, model)" in ek.stdout and "1 EK-FAC cells" in ek.stdout and "surrogate (chapter 12)" in ek.stdout, ek.stdout
    assert "alpha = 100" in ek.stdout, ek.stdout                             # the damping cells' ensembles, per alpha
    assert "EK-FAC, gn weighting, damping 0.1 x mean eigenvalue" in ek.stdout, ek.stdout
    assert len(list((tmp_path / "checkpoints").glob("*.pt"))) == 2        # the smoke's checkpoints stay in its folder, not the user cache
    for extra in (("--models", "2"), ("--models", "2", "--scorer", "damping"), ("--models", "1", "--scorer", "ekfac"), ("--models", "1", "--scorer", "ekfac_gn")):
        again = run(*extra); assert again.returncode == 0, again.stderr[-2000:]
    assert {f: (tmp_path / f).read_text() for f in files} == files         # resumed: nothing computed again
