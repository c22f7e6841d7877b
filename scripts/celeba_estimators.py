"""Issue 39, item 3: estimators beyond the paper's at the CelebA protocol, each against the protocol's ground truth.

The cells of chapter 27 (`mtif.estimators`) from the shell, written to the CSVs the chapter reads
(figures/celeba_estimators/cells.csv, ekfac_cells.csv, ekfac_gn_cells.csv and damping_cells.csv): resumable (cells written one at a time, checksummed, keyed
by the settings' hash; a training interrupted mid-run resumes from its checkpoint in the user cache). Cells run model j
on every seed before model j + 1, so that a run cut short still gives every seed the same M. The chapter shows the
table, the figure and the verdict (`mtif reproduce --only 27`, or its quick run).

    MTIF_DATA=../shared/data python scripts/celeba_estimators.py [--models 20] [--seeds 1 2 3 4 5] [--threads 1]
    python scripts/celeba_estimators.py --scorer ekfac --models 3   # EK-FAC on the first 3 models of each seed (trained first)
    python scripts/celeba_estimators.py --scorer ekfac_gn --models 1  # EK-FAC with the Gauss-Newton weighting, two dampings
    python scripts/celeba_estimators.py --scorer damping --models 5  # the first 5 final models at each relative damping
    python scripts/celeba_estimators.py --summary                   # the cells so far against LOTO; computes nothing

Cost on this project's 2-core CPU: a TRAK cell (training, four checkpoints scored) 4.2 min on one thread, 2.6 min on
two; an EK-FAC cell 5 to 15 min on two beside other work; a damping cell (ten settings) 15 s.
"""
import argparse, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "figures" / "celeba_estimators"
GT = ROOT / "figures" / "celeba_relatedness_protocol"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="*", default=[1, 2, 3, 4, 5])
    ap.add_argument("--models", type=int, default=20, help="models per seed (M up to this)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--summary", action="store_true", help="only summarize the cells there are")
    ap.add_argument("--smoke", metavar="DIR", help="tiny settings (16 px, 100 images, 3 epochs) into DIR, checkpoints too: the code path, not a result")
    ap.add_argument("--scorer", choices=("trak", "ekfac", "ekfac_gn", "damping"), default="trak",
                    help="trak: train the models and score them (cells.csv); ekfac: EK-FAC on the final models trained (ekfac_cells.csv); "
                         "ekfac_gn: the same with the Gauss-Newton weighting and a pooled damping (ekfac_gn_cells.csv); "
                         "damping: the final models at each relative damping of ALPHAS (damping_cells.csv)")
    a = ap.parse_args()
    import pandas as pd, torch
    from mtif import estimators as est, paper
    from mtif.jobs import run_cells, _read_rows
    cfg, out, ck = (est.SMOKE, Path(a.smoke), Path(a.smoke) / "checkpoints") if a.smoke else ((est.PROTOCOL, est.RECORD), OUT, None)
    path, ek_path, dm_path, eg_path = out / "cells.csv", out / "ekfac_cells.csv", out / "damping_cells.csv", out / "ekfac_gn_cells.csv"
    if not a.summary:
        torch.set_num_threads(a.threads)
        out.mkdir(parents=True, exist_ok=True)
        jobs = lambda key: [dict(seed=s, model=j, config=key) for j in range(a.models) for s in a.seeds]
        if a.scorer == "trak":
            run_cells(jobs(est.study_config(*cfg)), lambda seed, model, config: est.trak_cell(seed, model, config, *cfg, control=GT, checkpoints=ck),
                      path, desc="TRAK cells")
        elif a.scorer in ("ekfac", "ekfac_gn"):
            st = est.EKFAC_GN if a.scorer == "ekfac_gn" else est.EKFAC
            run_cells(jobs(est.ekfac_config(*cfg, st)), lambda seed, model, config: est.ekfac_cell(seed, model, config, *cfg, checkpoints=ck, settings=st),
                      eg_path if a.scorer == "ekfac_gn" else ek_path, desc="EK-FAC cells")
        else:
            run_cells(jobs(est.damping_config(*cfg)), lambda seed, model, config: est.damping_cell(seed, model, config, *cfg, checkpoints=ck),
                      dm_path, desc="damping cells")
    if not path.exists(): sys.exit(f"no cells yet in {path}: run without --summary first")
    cells = _read_rows(path, ["config", "model", "seed"])
    ek = _read_rows(ek_path, ["config", "model", "seed"]) if ek_path.exists() else None
    dm = _read_rows(dm_path, ["config", "model", "seed"]) if dm_path.exists() else None
    eg = _read_rows(eg_path, ["config", "model", "seed"]) if eg_path.exists() else None
    pd.set_option("display.width", 160)
    print(f"{len(cells) // len(cfg[1])} cells (seed, model) of settings {est.study_config(*cfg)}; {0 if ek is None else len(ek)} EK-FAC cells "
          f"of settings {est.ekfac_config(*cfg)}; paper (mean of Table 2): {paper.task_mean(2, 'MTIF'):.3f}")
    print(est.study_summary(cells, GT, ek, *cfg, damping=dm, ekfac_gn=eg).to_string(index=False, float_format=lambda x: f"{x:.3f}"))


if __name__ == "__main__":
    main()
