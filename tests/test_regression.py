"""The regression suite catches a moved number by name, and `mtif reproduce --quick --accept` makes it pass again;
quick mode is deterministic (the same inputs give the same numbers)."""
import json, os, shutil, subprocess, sys
from pathlib import Path
import pandas as pd
from mtif.results import read_summary

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = "16_selection_synthetic"          # exact (float64) and fast: about 5 s in quick mode

def _env(**kw):
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", **kw)
    env.pop("PYTEST_XDIST_WORKER", None)
    return env

def _pytest(nbs, ref):
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(ROOT / "tests" / "test_notebooks.py"), "-k", "quick"],
                          capture_output=True, text=True, timeout=900, cwd=ROOT, env=_env(MTIF_NBS=str(nbs), MTIF_REFERENCE=str(ref)))

def test_moved_number_fails_by_name_then_accept_fixes_it(tmp_path):
    nbs, ref = tmp_path / "nbs", tmp_path / "reference"
    nbs.mkdir(); ref.mkdir()
    shutil.copy(ROOT / "tests" / "reference" / f"summary_{CHAPTER}.csv", ref)
    nb = json.loads((ROOT / "nbs" / f"{CHAPTER}.ipynb").read_text())
    changed = 0
    for c in nb["cells"]:           # one number-producing line: the data seed
        src = "".join(c["source"])
        if "clean = make_synthetic(" in src and "seed=seed)" in src:
            c["source"] = src.replace("seed=seed)", "seed=seed + 100)"); changed += 1
    assert changed == 1
    (nbs / f"{CHAPTER}.ipynb").write_text(json.dumps(nb))
    r = _pytest(nbs, ref)
    assert r.returncode != 0, r.stdout[-3000:]
    out = r.stdout + r.stderr
    assert f"{CHAPTER} | Synthetic clean: mean ||theta_hat - theta*||" in out and "| reference " in out and "| now " in out, out[-4000:]
    acc = subprocess.run([sys.executable, "-m", "mtif.cli", "reproduce", "--quick", "--accept", "--nbs", str(nbs), "--reference", str(ref),
                          "--only", CHAPTER[:2], "--out", str(tmp_path / "runs"), "--figures", str(tmp_path / "figs")],
                         capture_output=True, text=True, timeout=900, env=_env())
    assert acc.returncode == 0, acc.stderr[-3000:]
    assert "accepted into" in acc.stdout and "Synthetic clean" in acc.stdout, acc.stdout[-3000:]
    r2 = _pytest(nbs, ref)
    assert r2.returncode == 0, (r2.stdout + r2.stderr)[-4000:]

def test_quick_mode_is_deterministic(tmp_path):
    """A network chapter, twice in quick mode: identical summaries (bit for bit)."""
    runs = []
    for i in range(2):
        r = subprocess.run([sys.executable, "-m", "mtif.cli", "reproduce", "--quick", "--only", "20", "--out", str(tmp_path / f"runs{i}"),
                            "--figures", str(tmp_path / f"figs{i}")], capture_output=True, text=True, timeout=900, env=_env())
        assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
        runs.append(read_summary(tmp_path / f"figs{i}" / "20_case_study" / "summary_20_case_study.csv"))
    pd.testing.assert_frame_equal(runs[0], runs[1], check_exact=True)
