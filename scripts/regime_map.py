"""The regime map of chapter 25 from the shell, on several processes: its three grids (the Adam part, the strict minima,
the agreement diagnostic) written to the same per-cell CSVs the chapter reads (`figures/regime_map/`), so that a run
here and the chapter's full run resume each other. The code is the chapter's (`mtif.regime`); the tables, verdicts and
the figure come from running the chapter (`mtif reproduce --only 25`).

    python scripts/regime_map.py [--part adam|converged|agreement] [--seeds 0 1 2 3 4] [--widths 8 32]
                                 [--decays 0 1e-3 1e-2 1e-1] [--workers 2] [--out figures/regime_map]

Full run, one CPU thread per process: the Adam part 40 cells of 41-74 s, the strict minima 24 cells of 20-120 s (seeds
0-2), the agreement 40 cells of about 3 s.
"""
import argparse
from pathlib import Path

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--part", choices=["adam", "converged", "agreement"], default="adam")
    ap.add_argument("--seeds", type=int, nargs="+", default=None, help="default: 0-4 (0-2 for the strict minima)")
    ap.add_argument("--widths", type=int, nargs="+", default=[8, 32])
    ap.add_argument("--decays", type=float, nargs="+", default=[0.0, 1e-3, 1e-2, 1e-1])
    ap.add_argument("--workers", type=int, default=None); ap.add_argument("--out", default="figures/regime_map")
    a = ap.parse_args()
    from mtif.jobs import run_cells
    from mtif import regime
    fn, csv, seeds = {"adam": (regime.regime_cell, "cells.csv", [0, 1, 2, 3, 4]), "converged": (regime.converged_cell, "converged.csv", [0, 1, 2]),
                      "agreement": (regime.agreement_cell, "agreement.csv", [0, 1, 2, 3, 4])}[a.part]
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    cells = [dict(decay=w, width=h, seed=s) for s in (a.seeds or seeds) for h in a.widths for w in a.decays]
    df = run_cells(cells, fn, out / csv, desc=f"regime map, {a.part}", workers=a.workers)
    print(f"{len(df)} rows in {out / csv}; the chapter reads them: mtif reproduce --only 25")

if __name__ == "__main__":
    main()
