"""What the checks of issue 13 cost on the exact path: fit, first-order data-level scores (all K x N), task-level scores
and the Newton-step scores, timed for the code of two checkouts in alternation (best of `--reps`, one thread), so
both see the same machine load.

    python scripts/bench_exact_checks.py --before /path/to/old/checkout [--reps 5]

Prints one table (seconds, and after/before) and writes it to figures/bench_exact_checks.csv. Under load the two
columns wander by +-30% either way, so a second table times, in one process, just the checks that scoring added
(the data stamp, the relative gradient, the condition bound) against the whole first-order scoring call: a share
that load does not change. Written to figures/bench_exact_checks_share.csv.
"""
import argparse, json, os, subprocess, sys
from pathlib import Path
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
CASES = [dict(K=10, n=200, d=50), dict(K=100, n=300, d=50), dict(K=300, n=60, d=20)]

CHILD = r"""
import json, sys, time, warnings
import torch
torch.set_num_threads(1)
from mtif.data import make_synthetic
from mtif.linear import MultitaskRidge, MultitaskLogistic
from mtif.data import binarize
from mtif.influence import data_influence_all, task_influence
case = json.loads(sys.argv[1])
data = make_synthetic(**case, seed=0, device="cpu")
def best(f, reps=3):
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
    return min(ts)
warnings.simplefilter("ignore")
m = MultitaskRidge(0.5).fit(data)
out = dict(fit=best(lambda: MultitaskRidge(0.5).fit(data)),
           first_order_data=best(lambda: data_influence_all(m, data)),
           task_level=best(lambda: task_influence(m, data)))
if case["K"] <= 100: out["newton_data"] = best(lambda: data_influence_all(m, data, method="newton"), 2)
b = binarize(data); ml = MultitaskLogistic(0.5).fit(b)
out["logistic_fit"] = best(lambda: MultitaskLogistic(0.5).fit(b))
print(json.dumps(out))
"""

SHARE = r"""
import json, sys, time, warnings
import torch
torch.set_num_threads(1)
from mtif.data import make_synthetic
from mtif.linear import MultitaskRidge
from mtif.influence import data_influence_all, task_influence
from mtif.hessian import BlockSolver
case = json.loads(sys.argv[1])
data = make_synthetic(**case, seed=0, device="cpu")
m = MultitaskRidge(0.5).fit(data)
Xd, y, mask, n = m.padded(data)
act = torch.ones(data.K, dtype=Xd.dtype)
args = (Xd, y, mask, n, m.lam_, act)
S = BlockSolver(m.blocks(*args, m.W_, m.gamma_), check_condition=False)
def best(f, reps=7):
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
    return min(ts)
checks = dict(stamp=best(lambda: m.check_data(data)), relative_gradient=best(lambda: m.relative_gradient(*args, m.W_, m.gamma_)),
              condition=best(lambda: S.check_condition()))
print(json.dumps(dict(checks, first_order_data=best(lambda: data_influence_all(m, data)), task_level=best(lambda: task_influence(m, data)))))
"""

def run(checkout: Path, case: dict) -> dict:
    env = dict(os.environ, PYTHONPATH=str(checkout), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    r = subprocess.run([sys.executable, "-c", CHILD, json.dumps(case)], env=env, capture_output=True, text=True, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])

def main():
    ap = argparse.ArgumentParser(); ap.add_argument("--before", required=True); ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()
    rows = []
    for case in CASES:
        best = {}
        for _ in range(a.reps):                   # alternate, so that both see the same load
            for name, co in (("before", Path(a.before)), ("after", ROOT)):
                for k, v in run(co, case).items(): best[(name, k)] = min(v, best.get((name, k), float("inf")))
        for k in dict.fromkeys(k for _, k in best):
            rows.append(dict(**case, step=k, before_s=best[("before", k)], after_s=best[("after", k)]))
        print(pd.DataFrame(rows[-len(set(k for _, k in best)):]).to_string(index=False), flush=True)
    t = pd.DataFrame(rows); t["after_over_before"] = t.after_s / t.before_s
    print(t.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    t.to_csv(ROOT / "figures" / "bench_exact_checks.csv", index=False)
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    share = []
    for case in CASES:
        r = json.loads(subprocess.run([sys.executable, "-c", SHARE, json.dumps(case)], env=env, capture_output=True, text=True,
                                      check=True).stdout.strip().splitlines()[-1])
        added = r["stamp"] + r["relative_gradient"] + r["condition"]
        share.append(dict(**case, **{f"{k}_s": v for k, v in r.items()}, checks_share_of_first_order=added / r["first_order_data"],
                          checks_share_of_task_level=added / r["task_level"]))
    sh = pd.DataFrame(share)
    print(sh.to_string(index=False, float_format=lambda x: f"{x:.3g}"))
    sh.to_csv(ROOT / "figures" / "bench_exact_checks_share.csv", index=False)

if __name__ == "__main__":
    main()
