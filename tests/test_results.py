"""The published results: the README's tables and figures/REPORT.md are what `mtif report` makes of the committed
full-run CSVs, every summary is in the numeric format, and the paper's tables equal the paper's text."""
import os
from pathlib import Path
import pytest
from mtif import paper
from mtif.cli import report
from mtif.results import load_summaries, read_summary

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
