"""Rewrite figures/summary_10_celeba.csv in the numeric format of mtif.results.record, from what chapter 10's last
complete full run committed: figures/celeba_loto_spearman_all.csv, celeba_damping.csv, celeba_projection_ensemble.csv
and the printed seed-averaged Spearman in figures/executed/10_celeba.ipynb — the same rows the chapter's record cell
writes. That run (NVIDIA H100, 2026-11-23, the 4,559-image CelebA folder of then) predates the numeric summaries;
a CPU rerun with the 10,462-image folder takes about 2.5 h under load and did not fit the session that changed the
format. The next full run of chapter 10 overwrites this file.

    python scripts/rerecord_summary_10.py
"""
from pathlib import Path
import json, re, sys
import numpy as np, pandas as pd
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from mtif.results import record, task_rows, show

figs = ROOT / "figures"
nb = json.loads((figs / "executed" / "10_celeba.ipynb").read_text())
text = "".join("".join(o.get("text") or "") for c in nb["cells"] for o in c.get("outputs", []))
device = re.search(r"device (\w+);", text).group(1)
M = int(re.search(r"'M': (\d+)", text).group(1))
rho_avg = float(re.search(r"Spearman of the seed-averaged matrices, per task: \[[^\]]*\] mean ([0-9.\-]+)", text).group(1))
sem = lambda x: np.std(x, ddof=1) / np.sqrt(len(x)) if len(x) > 1 else np.nan

res = pd.read_csv(figs / "celeba_loto_spearman_all.csv")
per_task = res.groupby("target", sort=False).spearman.agg(["mean", sem]); per_task.columns = ["mean", "se"]
per_seed = res.groupby("seed").spearman.mean()
tradeoff = pd.read_csv(figs / "celeba_projection_ensemble.csv"); agree = tradeoff.query("M == 1")
damp = pd.read_csv(figs / "celeba_damping.csv")
dt_ = damp.groupby("alpha").loto_spearman.agg(["mean", sem]); dt_.columns = ["mean", "s.e."]
note = f"{'NVIDIA H100' if device == 'cuda' else device}, 2026-11-23 run, 4,559-image CelebA folder"
rec = task_rows(f"CelebA LOTO Spearman, projected MTIF (m=512, M={M}, cold-start LOTO)", per_task,
                mean=(per_seed.mean(), sem(per_seed.values)), n=len(per_seed), table=2, kind="network")
rec += [dict(metric="CelebA LOTO Spearman of seed-averaged Delta matrices, mean over tasks", value=rho_avg, n=len(per_seed), kind="network"),
        dict(metric=f"CelebA projection-seed agreement of data-level scores, M=1, m={agree.m.iloc[0]}", value=agree.projection_seed_agreement.iloc[0], n=1, kind="network"),
        dict(metric=f"CelebA projection-seed agreement of data-level scores, M=1, m={agree.m.iloc[-1]}", value=agree.projection_seed_agreement.iloc[-1], n=1, kind="network")]
rec += [dict(metric=f"CelebA LOTO Spearman, relative damping {a:g}", task="mean", value=r["mean"], se=r["s.e."], n=len(per_seed), kind="network")
        for a, r in dt_.iterrows()]
for r in rec: r["note"] = note
summary = record(figs, "10_celeba", rec)
print(show(summary[summary.task.isna() | (summary.task == "mean")]).to_string(index=False))
