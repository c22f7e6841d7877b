"""Where the CelebA runs at the paper's protocol (issue 14) stand: which cells of chapters 12 (Tables 2 and 12),
18 (Table 3), 19 (Table 15), 24 (selection regimes) and 10 (Table 2) are in their committed per-seed CSVs, the interim
paired changes those cells give, and the CPU time left at the measured costs. A seed of chapter 12 that is under way
is counted from its committed records (`celeba_relatedness_protocol/records/seed<s>/`); chapter 10 reads chapter 12's
ground truth and trains order 0's control and its ensemble members per seed.

    python scripts/issue14_status.py [--figures figures]

Reads the CSVs only (no training). An interim number is not a result: the chapters' tables are written when every
cell is done. Costs: minutes per 200-epoch training on one CPU thread with another job on the second core, measured
in the sessions that ran them (chapter 19's from 3 epochs, nothing else running, times 1.4 for the second job).
"""
import argparse
from pathlib import Path
import numpy as np, pandas as pd
from mtif.selection import paired_change

SEEDS = [1, 2, 3, 4, 5]
RULES = ["EW", "UW", "RLW", "DWA", "GradNorm", "IMTL", "PCGrad", "CAGrad"]
GRAD = {"GradNorm", "IMTL", "PCGrad", "CAGrad"}
ARCHS = ["HPS", "MMoE", "CGC", "DSelect-k"]
EW_MIN, GRAD_MIN = 6.5, 18.5        # minutes per training with its scoring: EW (3-6 min training, cells 30-40 min for 6);
                                     # GradNorm and IMTL on seed 1 (17-20)
ARCH_CELL_MIN = {"HPS": 12, "MMoE": 17, "CGC": 65, "DSelect-k": 28}  # seed 1 by checkpoint times (3 trainings + scoring)
# chapter 12 per seed, minutes as seed 1 measured (seed 2 was faster, chapter 12 says by how much); what is left is counted
# from the committed records of its finished trainings
CH12_LOTO_MIN, CH12_TAG_MIN, CH12_SUBSET_MIN, CH12_SCORE_MIN = 78 / 20, 11, 3.5, 5   # per LOTO training (2 orders x 10),
CH12_LOTO, CH12_SUBSETS = 20, 24                                                        # TAG's run, per subset training, scoring
CH10_TRAIN = {1: 5, 2: 3, 3: 3, 4: 3, 5: 3}      # chapter 10's trainings per seed: order 0's control and the ensemble (M=5 study on seed 1)
CH10_SCORE_MIN = 2                              # its scoring per seed (the ensemble study on seed 1 adds more, not counted)
TRAIN_MIN = 3.7                                                              # one 200-epoch training of the shared-bottom CNN
CH24_MIN = 25.0                                                              # one noise level of one seed

def read(folder: Path) -> pd.DataFrame:
    parts = [pd.read_csv(f) for f in sorted(folder.glob("seed*.csv")) if not f.name.endswith("_matrices.csv")]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

def change(w: pd.DataFrame, after: str, before: str = "none") -> str:
    if after not in w or before not in w: return "-"
    d = paired_change(w[after], w[before])
    return f"{100 * d['mean']:+.2f} ± {100 * d['se']:.2f} (n={d['n']})" if d["n"] > 1 else f"{100 * d['mean']:+.2f} (n=1)"

def main(fig: Path):
    left = {}
    # chapter 18, Table 3
    r18 = read(fig / "celeba_selection_weighting_protocol")
    have = set(zip(r18.method, r18.seed)) if len(r18) else set()
    rows = []
    for m in RULES:
        sub = r18[(r18.method == m) & (r18.fraction.isin([0.0, 0.05]))] if len(r18) else r18
        w = sub.pivot_table(index="seed", columns="rule", values="test_acc") if len(sub) else pd.DataFrame()
        rows.append({"rule": m, "seeds done": " ".join(str(s) for s in SEEDS if (m, s) in have) or "-",
                     "MTIF 5% - none, points": change(w, "mtif")})
    print("Chapter 18 (Table 3): cells done and the interim paired change of mean test accuracy")
    print(pd.DataFrame(rows).to_string(index=False))
    left["18"] = sum((GRAD_MIN if m in GRAD else EW_MIN) * (4 + 2 * (m == "EW")) for m in RULES for s in SEEDS if (m, s) not in have) / 60
    # chapter 19, Table 15
    r19 = read(fig / "celeba_selection_archs_protocol")
    have = set(zip(r19.arch, r19.seed)) if len(r19) else set()
    rows = []
    for a in ARCHS:
        sub = r19[r19.arch == a] if len(r19) else r19
        w = sub.pivot_table(index="seed", columns="rule", values="test_acc") if len(sub) else pd.DataFrame()
        rows.append({"architecture": a, "seeds done": " ".join(str(s) for s in SEEDS if (a, s) in have) or "-",
                     "MTIF 5% - none, points": change(w, "mtif")})
    print("\nChapter 19 (Table 15, CelebA)")
    print(pd.DataFrame(rows).to_string(index=False))
    left["19"] = sum(ARCH_CELL_MIN[a] for a in ARCHS for s in SEEDS if (a, s) not in have) / 60
    # chapter 12, Tables 2 and 12
    done12 = [s for s in SEEDS if (fig / "celeba_relatedness_protocol" / f"seed{s}.csv").exists()]
    rec = fig / "celeba_relatedness_protocol" / "records"
    def ch12_minutes(s: int) -> float:         # what seed s still has to train: LOTO, TAG's run, the subsets
        if s in done12: return 0.0
        d = rec / f"seed{s}"                   # each finished training leaves its records (globbing nothing yields nothing)
        loto = len(list(d.glob("order*/*.pt.records")))
        subs = len(list(d.glob("subsets/*.pt.records")))
        return ((CH12_LOTO - loto) * CH12_LOTO_MIN + CH12_TAG_MIN * (not (d / "tag.pt.records").exists())
                + (CH12_SUBSETS - subs) * CH12_SUBSET_MIN + CH12_SCORE_MIN)
    left12 = {s: ch12_minutes(s) for s in SEEDS}
    print(f"\nChapter 12 (Tables 2 and 12): seeds done {done12 or '-'}; minutes left per seed "
          + ", ".join(f"{s}: {m:.0f}" for s, m in left12.items() if m))
    left["12"] = sum(left12.values()) / 60
    # chapter 10, Table 2: per seed, order 0's control and the ensemble members (after chapter 12 has the seed)
    done10 = [s for s in SEEDS if (fig / "celeba_protocol_mtif" / f"seed{s}.csv").exists()]
    print(f"Chapter 10 (Table 2): seeds done {done10 or '-'}")
    left["10"] = sum(CH10_TRAIN[s] * TRAIN_MIN + CH10_SCORE_MIN for s in SEEDS if s not in done10) / 60
    # chapter 24, regimes
    r24 = read(fig / "celeba_selection_regimes")
    rows = []
    for p, g in r24.groupby("noise") if len(r24) else []:
        for e, h in g.groupby("epochs"):
            w = h.pivot_table(index="seed", columns="rule", values="test_acc")
            rows.append({"noise": p, "epochs": e, "seeds": " ".join(str(s) for s in sorted(h.seed.unique())),
                         "MTIF - none": change(w, "mtif"), "random - none": change(w, "random"),
                         "high loss - none": change(w, "highest training loss")})
    print("\nChapter 24 (selection regimes): paired change of mean test accuracy, points")
    print(pd.DataFrame(rows).to_string(index=False))
    cells = set(zip(r24.noise, r24.seed)) if len(r24) else set()
    left["24"] = sum(CH24_MIN for p in (0.0, 0.05, 0.1) for s in SEEDS if (p, s) not in cells) / 60
    print("\nCPU hours left at the measured costs (one thread per job): "
          + ", ".join(f"chapter {k} {v:.1f}" for k, v in left.items()) + f"; total {sum(left.values()):.1f}")

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--figures", default=str(Path(__file__).resolve().parent.parent / "figures"))
    main(Path(ap.parse_args().figures))
