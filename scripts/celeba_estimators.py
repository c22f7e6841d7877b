"""Issue 39, item 3: estimators beyond the paper's at the CelebA protocol, each against the protocol's ground truth.

The ground truth is chapter 12's (figures/celeba_relatedness_protocol/seed<s>_matrices.csv: cold-start LOTO over two data
orders at the paper's protocol, 5 fresh seeds; the surrogate model's matrix is there too). One cell per (seed, model j):
j = 0 is order 0's control (the model chapter 12 scored), j >= 1 the protocol's ensemble members (initialization and data
order 100 seed + j, as chapter 10's `ensemble_models`). Each model is trained at the protocol (1,000 shared images per
split, 32 px, 200 epochs, StepLR 100/0.5) and scored by projected MTIF as chapter 10 scores it (m = 512, TRAK weighting,
relative damping 1, projection seed `seed + 1000 j`) at several checkpoints of its one run (`train_and_record`): the
task-level matrix T (positive: source l harms target k), the model's scale (RMS of its data-level scores, which the
"normalized" ensemble divides by) and its test accuracy. From these cells the summary forms, per seed, ensembles of M
models under three rules (normalized, mean, median) at each checkpoint, and their LOTO Spearman.

Cells are written one at a time to figures/celeba_estimators/cells.csv (`run_cells`: resumable, each row checksummed; a
cell is keyed by `config`, a hash of the settings below, so changed settings are new cells); a training interrupted
mid-run resumes from its checkpoint in the user cache. Order of the cells: model j on every seed before model j + 1, so
that a run cut short still gives every seed the same M.

    MTIF_DATA=../shared/data python scripts/celeba_estimators.py [--models 20] [--seeds 1 2 3 4 5] [--threads 1]
    python scripts/celeba_estimators.py --summary          # the cells so far against LOTO; trains nothing

Cost on this project's 2-core CPU: about 4.2 min a cell on one thread (four checkpoints scored at about 25 s each,
the rest training), 2.6 min on two.
"""
import argparse, hashlib, json, math, sys, time
from pathlib import Path
import numpy as np, pandas as pd, torch

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "figures" / "celeba_estimators"
GT = ROOT / "figures" / "celeba_relatedness_protocol"
PROTOCOL = dict(size=32, n_per_task=1000, epochs=200, step_size=100, step_gamma=0.5, lr=1e-3, batch_size=64, orders=2)   # chapters 10/12
SCORE = dict(proj_dim=512, hessian="trak", relative_damping=1.0)                        # chapter 10's estimator (m = 512)
RECORD = [5, 20, 100, 200]                                                               # checkpoints scored; 200: the final model
SMOKE = dict(PROTOCOL, size=16, n_per_task=100, epochs=3, step_size=2), [1, 3]        # --smoke: the code path in a minute
config = lambda: "c" + hashlib.sha256(json.dumps([PROTOCOL, SCORE, RECORD], sort_keys=True).encode()).hexdigest()[:12]   # never read back as a number
CONFIG = config()
RULES = ("normalized", "mean", "median")


def cell(seed: int, model: int, config: str) -> list:
    "Train model `model` of `seed` at the protocol and score it at each checkpoint: one row per checkpoint."
    from mtif.datasets import load_celeba, cache_dir
    from mtif.nets import shared_bottom, train_and_record, order_seeds, evaluate
    from mtif.trak import ProjectedMTIF
    if config != CONFIG: raise ValueError(f"cell made with settings {config}, this script's are {CONFIG}")
    cel = load_celeba(size=PROTOCOL["size"], n_per_task=PROTOCOL["n_per_task"], seed=seed, shared=True, progress=False)
    init, order = (seed, order_seeds(seed, PROTOCOL["orders"])[0]) if model == 0 else (100 * seed + model, 100 * seed + model)
    net = shared_bottom(cel, seed=init)

    def score(m, E):
        t0 = time.perf_counter()
        pm = ProjectedMTIF(m, cel, seed=seed + 1000 * model, progress=False, **SCORE)
        D, T = pm.scores()
        out = dict(T=T.tolist(), scale=float(D[~torch.isnan(D)].square().mean().sqrt()),
                   test_acc=float(evaluate(m, cel, "test")["acc"].mean()))
        if model == 0 and E == RECORD[-1]:      # the control: is it the model chapter 12 scored (12's matrices predate Eq. 13's fixes)?
            f12 = pd.read_csv(GT / f"seed{seed}_matrices.csv")
            T12 = torch.tensor(f12[f12.method == "MTIF"].pivot(index="target", columns="source", values="value").values)
            cands = [T.double(), pm.task_influence_variant(theta_l=False, block_damping=False).double()]
            out["control_max_diff"] = min(float((c - T12).abs().nan_to_num().max()) for c in cands)
        out["seconds_score"] = time.perf_counter() - t0
        return out

    kw = {k: PROTOCOL[k] for k in ("epochs", "step_size", "step_gamma", "lr", "batch_size")}
    ck = cache_dir() / "checkpoints" / "celeba_estimators" / f"{CONFIG}_seed{seed}_model{model}.pt"
    t0 = time.perf_counter()
    r = train_and_record(net, cel, RECORD, seed=order, on_record=score, checkpoint=ck, need_model=False, device="cpu", **kw)
    secs = time.perf_counter() - t0
    return [dict(epoch=E, scale=x["scale"], test_acc=x["test_acc"], control_max_diff=x.get("control_max_diff", math.nan),
                 seconds_score=x["seconds_score"], seconds_cell=secs, T=json.dumps([[None if math.isnan(v) else v for v in row] for row in x["T"]]))
            for E, x in zip(r["epochs"], r["extra"])]


def ground_truth(seed: int) -> dict:
    "Chapter 12's matrices of `seed` (LOTO, surrogate, ...) as K x K tensors."
    f = pd.read_csv(GT / f"seed{seed}_matrices.csv")
    return {m: torch.tensor(g.pivot(index="target", columns="source", values="value").values, dtype=torch.float64) for m, g in f.groupby("method")}


def ensemble(Ts: list, scales: list, rule: str) -> torch.Tensor:
    "The ensemble's task-level matrix: `combine_ensemble`'s rules ('normalized', 'mean') and the entrywise median."
    T = torch.stack(Ts)
    if rule == "median": return T.nanquantile(0.5, 0)           # entrywise; an even M: the midpoint of the middle two
    if rule == "mean": return T.mean(0)
    s = torch.tensor(scales, dtype=T.dtype)
    return (T * (s.log().mean().exp() / s).view(-1, 1, 1)).mean(0)


def _matrix(text: str) -> torch.Tensor:
    "A cell's task-level matrix from its JSON (null on the diagonal: NaN)."
    return torch.tensor([[math.nan if v is None else v for v in r] for r in json.loads(text)], dtype=torch.float64)


def summary(cells: pd.DataFrame) -> pd.DataFrame:
    "Per (checkpoint, M, rule): mean over seeds of the mean-over-targets LOTO Spearman, its s.e., the seeds used."
    from mtif.baselines import per_target_spearman
    from mtif.results import sem
    from scipy import stats
    cells = cells[cells.config == CONFIG].assign(T=lambda c: [_matrix(t) for t in c["T"]])     # each matrix parsed once
    rows = []
    seeds = sorted(cells.seed.unique())
    gts = {s: ground_truth(s) for s in seeds}
    for E in sorted(cells.epoch.unique()):
        for M in (1, 2, 3, 5, 10, 20):
            for rule in RULES if M > 1 else ("single",):
                per_seed = []
                for s in seeds:
                    c = cells[(cells.seed == s) & (cells.epoch == E)].sort_values("model")
                    if len(c) < M or list(c.model[:M]) != list(range(M)): continue
                    Ts = list(c["T"][:M])
                    T = Ts[0] if M == 1 else ensemble(Ts, list(c.scale[:M]), rule)
                    per_seed.append(float(np.nanmean(per_target_spearman(T, gts[s]["LOTO"]))))
                if per_seed: rows.append(dict(epoch=E, M=M, rule=rule, spearman=np.mean(per_seed), se=sem(per_seed) if len(per_seed) > 1 else math.nan,
                                              seeds=len(per_seed)))
    for s in seeds:                      # the control here against the model chapter 12 scored: the same model only on the same machine
        c = cells[(cells.seed == s) & (cells.model == 0) & (cells.epoch == RECORD[-1])]
        if len(c):
            T0 = c["T"].iloc[0]
            ok = ~torch.isnan(T0)
            rows.append(dict(epoch=RECORD[-1], M=1, rule=f"control vs chapter 12's MTIF matrix, seed {s} (Spearman over entries)",
                             spearman=float(stats.spearmanr(T0[ok], gts[s]["MTIF"][ok])[0]), se=math.nan, seeds=1))
    sur = [float(np.nanmean(per_target_spearman(gts[s]["surrogate"], gts[s]["LOTO"]))) for s in seeds]
    rows.append(dict(epoch=math.nan, M=math.nan, rule="surrogate (chapter 12)", spearman=np.mean(sur), se=sem(sur) if len(sur) > 1 else math.nan, seeds=len(sur)))
    return pd.DataFrame(rows)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="*", default=[1, 2, 3, 4, 5])
    ap.add_argument("--models", type=int, default=20, help="models per seed (M up to this)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--summary", action="store_true", help="only summarize the cells there are")
    ap.add_argument("--smoke", metavar="DIR", help="tiny settings (16 px, 100 images, 3 epochs) into DIR: the code path, not a result")
    a = ap.parse_args()
    if a.smoke: (PROTOCOL, RECORD), OUT = SMOKE, Path(a.smoke); CONFIG = config()
    path = OUT / "cells.csv"
    if not a.summary:
        from mtif.jobs import run_cells
        torch.set_num_threads(a.threads)
        OUT.mkdir(parents=True, exist_ok=True)
        run_cells([dict(seed=s, model=j, config=CONFIG) for j in range(a.models) for s in a.seeds], cell, path, desc="CelebA estimators")
    if not path.exists(): sys.exit(f"no cells yet in {path}: run without --summary first")
    from mtif.jobs import _read_rows
    cells = _read_rows(path, ["config", "model", "seed"])
    from mtif import paper
    pd.set_option("display.width", 160)
    print(f"{len(cells) // len(RECORD)} cells (seed, model) of settings {CONFIG}; paper (mean of Table 2): {paper.task_mean(2, 'MTIF'):.3f}")
    print(summary(cells).to_string(index=False, float_format=lambda x: f"{x:.3f}"))
