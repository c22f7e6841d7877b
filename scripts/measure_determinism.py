"""How far the network chapters' quick-mode numbers move when only the floating-point summation order changes.

Runs each network chapter in quick mode (papermill, as the test suite does) once with 1 thread and once with 2, and
compares every recorded metric with the chapter's regression reference, which `mtif reproduce --quick --accept` made
with 1 thread. Same thread count: the numbers must be identical (determinism). 1 vs 2 threads: the difference is what
another CPU's kernels or another thread count can do to these numbers; the tolerance of each network chapter in
tests/reference/tolerances.csv is set to twice the largest difference seen in that chapter (with a floor of 1e-6),
and written into every network metric's row of the chapter's reference (as `mtif reproduce --quick --accept` does too).

    MTIF_DATA=../shared/data python scripts/measure_determinism.py [--only 10 12 ...]

Measured on 2026-12-01, 2-core x86_64 CPU, torch 2.13.0 (CPU), right after `mtif reproduce --quick --accept`: every
chapter gave the reference to the bit with 1 thread; 1 vs 2 threads moved 10_celeba by 5e-6, 19_selection_archs by
1.1e-3 and 90_benchmarks by 3.2e-3, the others by 0 (20_case_study: 3e-10). See the table this prints, committed as
tests/reference/tolerances.csv.
"""
import argparse, os, subprocess, sys, tempfile
from pathlib import Path
import numpy as np, pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from mtif.results import read_summary, read_reference, apply_tolerances

NETWORK = ["10_celeba", "12_relatedness", "17_selection_office", "18_selection_celeba", "19_selection_archs", "20_case_study",
           "21_celeba_warm_loto", "90_benchmarks"]

def run(stem, threads, figs):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    code = (f"import papermill as pm; pm.execute_notebook({str(ROOT / 'nbs' / (stem + '.ipynb'))!r}, {str(figs / (stem + '.ipynb'))!r}, "
            f"parameters=dict(quick=True, fig_dir={str(figs)!r}), cwd={str(ROOT / 'nbs')!r}, kernel_name='python3', progress_bar=False)")
    subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True)
    return pd.concat([read_summary(f) for f in sorted(figs.glob(f"summary_{stem}*.csv"))], ignore_index=True)

def main():
    ap = argparse.ArgumentParser(); ap.add_argument("--only", nargs="+"); a = ap.parse_args()
    stems = [s for s in NETWORK if not a.only or any(s.startswith(o) for o in a.only)]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for stem in stems:
            ref = read_reference(ROOT / "tests" / "reference" / f"summary_{stem}{'_cpu' if stem.startswith('90') else ''}.csv")
            ref = ref.assign(task=ref.task.fillna("")).set_index(["metric", "task"])[["value", "se"]]
            r = {}
            for name, threads in (("1", 1), ("2", 2)):
                d = Path(tmp) / f"{stem}_{name}"; d.mkdir()
                s_ = run(stem, threads, d)
                r[name] = s_[s_.kind != "timing"].assign(task=s_.task.fillna("")).set_index(["metric", "task"])[["value", "se"]].reindex(ref.index)
            same = (ref.fillna(0) - r["1"].fillna(0)).abs().to_numpy().max()
            diff = (ref.fillna(0) - r["2"].fillna(0)).abs().to_numpy()
            rows.append(dict(chapter=stem, metrics=len(ref), same_threads_max_diff=float(same), threads_1_vs_2_max_diff=float(diff.max()),
                             threads_1_vs_2_moved=int((diff.max(axis=1) > 0).sum()), atol=max(2 * float(diff.max()), 1e-6)))
            print(rows[-1], flush=True)
    t = pd.DataFrame(rows)
    print(t.to_string(index=False))
    out = ROOT / "tests" / "reference" / "tolerances.csv"
    old = pd.read_csv(out) if out.exists() else pd.DataFrame(columns=t.columns)
    cross = [c for c in old.columns if c.startswith("cross_platform")]   # measure_cross_platform.py's columns are kept
    if cross: t = t.merge(old[["chapter"] + cross], on="chapter", how="left")
    pd.concat([old[~old.chapter.isin(t.chapter)], t], ignore_index=True).sort_values("chapter").to_csv(out, index=False)
    print(f"written {out}")
    for line in apply_tolerances(out.parent): print("reference tolerance:", line)

if __name__ == "__main__":
    main()
