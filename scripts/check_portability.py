"""How far a quick run's numbers moved against the regression reference, each against its own tolerance.

Run the quick suite under some perturbation into a folder of its own, then read it here:

    MTIF_PERTURB=101 mtif reproduce --quick --figures runs/perturb101     # seeds the spread never saw
    OMP_NUM_THREADS=2 mtif reproduce --quick --workers 1 --figures runs/threads2
    python scripts/check_portability.py runs/perturb101 runs/threads2

Per summary and kind: how many metrics moved at all, the largest move, and the largest move as a share of its
tolerance (a share above 1 fails the suite); dropped metrics (tolerance inf) are counted apart.
"""
import math, sys
from pathlib import Path
import numpy as np, pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from mtif.results import read_summary
from mtif.reference import read_reference, reference_of

def moves(run: Path) -> pd.DataFrame:
    rows = []
    for ref in sorted((ROOT / "tests" / "reference").glob("summary_*.csv")):
        got = sorted(run.glob(f"*/{ref.name}")) or sorted(run.glob(ref.name))
        if not got: continue
        r = read_reference(ref).assign(task=lambda d: d.task.fillna("")).set_index(["metric", "task"])
        n = reference_of(read_summary(got[0])).assign(task=lambda d: d.task.fillna("")).set_index(["metric", "task"])
        both = r.index.intersection(n.index)
        for kind in ("exact", "stochastic"):
            k = [i for i in both if r.at[i, "kind"] == kind]
            if not k: continue
            d = (n.loc[k, "value"] - r.loc[k, "value"]).abs()
            tol = r.loc[k, "atol"] + r.loc[k, "rtol"] * r.loc[k, "value"].abs()
            live = np.isfinite(tol)
            share = (d[live] / tol[live]).replace([np.inf], np.nan)
            rows.append(dict(summary=ref.stem[len("summary_"):], kind=kind, metrics=len(k), moved=int((d > 0).sum()),
                             max_move=float(d.max()) if d.notna().any() else 0.0,
                             max_share_of_tol=float(share.max()) if share.notna().any() else 0.0,
                             dropped=int((~live).sum()) if kind == "stochastic" else 0, missing=len(r) - len(both)))
    return pd.DataFrame(rows)

if __name__ == "__main__":
    pd.set_option("display.width", 200)
    for run in sys.argv[1:]:
        t = moves(Path(run))
        print(f"\n{run}: {int(t.metrics.sum())} metrics; largest share of its tolerance {t.max_share_of_tol.max():.3g}"
              f" ({'passes' if t.max_share_of_tol.max() <= 1 else 'FAILS'})")
        print(t.to_string(index=False, float_format=lambda x: f"{x:.3g}"))
