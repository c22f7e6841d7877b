"""How far the network chapters' quick-mode numbers move from one platform to another, and the tolerance that follows.

A reference made on one platform (CPU vector extensions, library versions: `mtif.results.platform_id`) is compared with
the reference the same code made on another. Typically the committed references of an earlier revision (CI then ran on
that platform) are compared with the ones `mtif reproduce --quick --accept` just wrote here. Per summary (chapter 12's CelebA
and linear parts apart), over its network metrics (rtol 0) present in both, the largest difference of a value or a standard error is written to
tests/reference/tolerances.csv as `cross_platform_max_diff`. Twice that, and never below the same-platform `atol` or an
earlier measurement, is written as `cross_platform_atol`: the tolerance a network metric gets on a platform other than
the one that made its reference (`check_reference`). A chapter with no new measurement keeps what it had.

    python scripts/measure_cross_platform.py --old REV [--only 10 12 ...]

Measured on 2026-12-03 with --old f0cbc59 (the references CI had passed with on the earlier machine, whose CPU was not
recorded) against references accepted here (x86_64 avx2+avx512f+avx512_bf16+avx512_fp16+amx_tile; torch 2.13.0+cpu,
numpy 2.4.6, scipy 1.17.1, scikit-learn 1.9.1, pillow 13.0.0): largest move 2.6e-3 (10_celeba), 0.095
(12_relatedness_celeba), 0 (12_relatedness_linear), 3.1e-3 (17), 6.3e-3 (23), 3.7e-6 (93); see tolerances.csv.
"""
import argparse, io, subprocess, sys
from pathlib import Path
import numpy as np, pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from mtif.results import read_reference, NETWORK_FLOOR

def old_reference(rev: str, name: str) -> pd.DataFrame | None:
    r = subprocess.run(["git", "show", f"{rev}:tests/reference/{name}"], cwd=ROOT, capture_output=True, text=True)
    return read_reference(io.StringIO(r.stdout)) if r.returncode == 0 else None

def main():
    ap = argparse.ArgumentParser(); ap.add_argument("--old", required=True); ap.add_argument("--only", nargs="+"); a = ap.parse_args()
    rows = []
    for f in sorted((ROOT / "tests" / "reference").glob("summary_*.csv")):
        chapter = f.stem[len("summary_"):]
        if a.only and not any(chapter.startswith(o) for o in a.only): continue
        new, old = read_reference(f), old_reference(a.old, f.name)
        if old is None: continue
        new, old = new[new.rtol == 0], old[old.rtol == 0]
        if new.empty: continue
        pn, po = set(new.platform), set(old.platform)
        if pn == po: continue                                  # not re-accepted elsewhere: nothing measured
        key = lambda d: d.assign(task=d.task.fillna("")).set_index(["metric", "task"])[["value", "se"]]
        n, o = key(new), key(old)
        both = n.index.intersection(o.index)
        d = (n.loc[both] - o.loc[both]).abs().to_numpy()
        d = d[~np.isnan(d)]
        rows.append(dict(chapter=chapter, metrics=len(both), max_diff=float(d.max()) if d.size else 0.0,
                         moved=int((d > 0).sum()), platforms=f"{'; '.join(sorted(po)) or 'unrecorded'} -> {'; '.join(sorted(pn))}"))
    if not rows: sys.exit("no reference was re-accepted on another platform since --old: nothing to measure")
    t = pd.DataFrame(rows)
    print(t.to_string(index=False))
    out = ROOT / "tests" / "reference" / "tolerances.csv"
    tol = pd.read_csv(out)
    for c in ("cross_platform_max_diff", "cross_platform_atol"):
        if c not in tol: tol[c] = np.nan
    for chapter, g in t.groupby("chapter"):
        diff = float(g.max_diff.max())
        if chapter not in set(tol.chapter):
            tol = pd.concat([tol, pd.DataFrame([dict(chapter=chapter, atol=NETWORK_FLOOR)])], ignore_index=True)
        i = tol.index[tol.chapter == chapter][0]
        prev_d, prev_a = tol.at[i, "cross_platform_max_diff"], tol.at[i, "cross_platform_atol"]
        tol.at[i, "cross_platform_max_diff"] = np.nanmax([diff, prev_d])
        tol.at[i, "cross_platform_atol"] = np.nanmax([2 * diff, tol.at[i, "atol"], prev_a])
    tol.sort_values("chapter").to_csv(out, index=False)
    print(pd.read_csv(out).to_string(index=False))
    print(f"written {out}")

if __name__ == "__main__":
    main()
