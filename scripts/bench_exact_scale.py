"""The exact path at scale (issue 18, item 4): first-order scores of every target, one target, task level and the
Newton step, for ridge with d = 50 at K = 100 tasks x 1,000 training points and K = 1,000 x 100, timed for the code of
two checkouts (best of `--reps`, one thread), with the peak memory growth of the first-order call, and the new code's
flop floors measured in the same process.

    python scripts/bench_exact_scale.py --before /path/to/old/checkout [--reps 3] [--out figures/bench_exact_scale.csv]

The old checkout is run first, then the new one, each in its own process on one thread; run it with nothing else on the
machine. Agreement: the new scores of three targets against the old ones (relative Frobenius difference). Writes one
row per case and quantity (seconds before, after, and their ratio), and the floors and ratios chapter 90 reports.
"""
import argparse, json, os, subprocess, sys, tempfile
from pathlib import Path
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
CASES = [dict(K=100, n_train=1000, d=50), dict(K=1000, n_train=100, d=50)]

CHILD = r"""
import json, sys, time, threading, warnings
import numpy as np, psutil, torch
torch.set_num_threads(1)
from mtif.data import make_synthetic
from mtif.linear import MultitaskRidge
import mtif.influence as inf
case, reps, dump = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
K, d = case["K"], case["d"]
data = make_synthetic(K=K, n=3 * case["n_train"], d=d, seed=0, device="cpu")
warnings.simplefilter("ignore")
m = MultitaskRidge(0.5).fit(data)
def best(f, r=reps):
    ts = []
    for _ in range(r):
        t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
    return min(ts)
def peak_growth(f):
    proc = psutil.Process(); base = proc.memory_info().rss; peak = [base]; done = threading.Event()
    def watch():
        while not done.is_set(): peak[0] = max(peak[0], proc.memory_info().rss); time.sleep(0.001)
    th = threading.Thread(target=watch); th.start()
    try: r = f()
    finally: done.set(); th.join()
    return r, peak[0] - base
out = {}
D, grow = peak_growth(lambda: inf.data_influence_all(m, data))
rows = [0, K // 2, K - 1]
np.save(dump + "_first_order.npy", D[rows].numpy())
out["output_bytes"] = D.numel() * 8
del D
out["first_order_peak_growth_bytes"] = grow
out["first_order_all"] = best(lambda: inf.data_influence_all(m, data))
out["one_target"] = best(lambda: inf.data_influence(m, data, K // 2))
out["task_level"] = best(lambda: inf.task_influence(m, data))
if K <= 100:
    t0 = time.perf_counter(); N = inf.data_influence_all(m, data, method="newton"); out["newton_all"] = time.perf_counter() - t0
    np.save(dump + "_newton.npy", N[rows].numpy()); del N
if hasattr(inf, "MTIF"):        # the new code: prepared object, writing into an existing array, and the floors
    out["prepare"] = best(lambda: inf.MTIF(m, data))
    mt = inf.MTIF(m, data)
    out["one_target_prepared"] = best(lambda: mt.data_influence(K // 2))
    out["first_order_all_prepared"] = best(lambda: mt.data_influence_all())
    n_max, q = max(data.sizes()), d
    buf = torch.empty(K, K, n_max, dtype=torch.float64)
    out["first_order_all_prepared_into_out"] = best(lambda: mt.data_influence_all(out=buf))
    g = torch.Generator().manual_seed(0)
    Us, XB = torch.randn(q, K, generator=g, dtype=torch.float64), torch.randn(K * n_max, q, generator=g, dtype=torch.float64).T
    X = torch.randn(K, n_max, q, generator=g, dtype=torch.float64)
    out["floor_scores_fresh"] = best(lambda: torch.mm(Us.T, XB))                    # 2 K N q flops into a new K x N array
    out["floor_scores_into_out"] = best(lambda: torch.mm(Us.T, XB, out=buf.view(K, -1)))   # ... into an existing one
    out["floor_gram"] = best(lambda: X.transpose(1, 2) @ X)                         # the Hessian blocks: 2 K n p^2 flops
    del buf
    if K <= 100:
        out["newton_all_prepared"] = best(lambda: mt.data_influence_all("newton"), 2)
        U2 = torch.randn(K * n_max, q, generator=g, dtype=torch.float64); M = torch.randn(q, q, generator=g, dtype=torch.float64)
        Y = torch.empty(K * n_max, q, dtype=torch.float64)
        def newton_floor():
            for _ in range(K): torch.mm(U2, M, out=Y)                     # 2 K N q^2 flops: the quadratic forms' GEMMs
        out["floor_newton"] = best(newton_floor, 2)
print(json.dumps(out))
"""

def run(checkout, case, reps, dump):
    env = dict(os.environ, PYTHONPATH=str(checkout), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    r = subprocess.run([sys.executable, "-c", CHILD, json.dumps(case), str(reps), dump], env=env, capture_output=True,
                       text=True, cwd=tempfile.gettempdir())
    if r.returncode: sys.exit(f"{checkout} failed on {case}:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", required=True, help="a checkout of the code before the change")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "figures" / "bench_exact_scale.csv"))
    a = ap.parse_args()
    import numpy as np
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            before = run(Path(a.before).resolve(), case, a.reps, f"{tmp}/before")
            after = run(ROOT, case, a.reps, f"{tmp}/after")
            tag = f"K={case['K']} x n={case['n_train']} x d={case['d']}"
            agree = {}
            for what in ("first_order", "newton"):
                if os.path.exists(f"{tmp}/before_{what}.npy"):
                    b, n = np.load(f"{tmp}/before_{what}.npy"), np.load(f"{tmp}/after_{what}.npy")
                    ok = ~np.isnan(b)
                    assert (ok == ~np.isnan(n)).all(), "the NaN padding moved"
                    agree[what] = float(np.linalg.norm(n[ok] - b[ok]) / np.linalg.norm(b[ok]))
                    os.remove(f"{tmp}/before_{what}.npy"); os.remove(f"{tmp}/after_{what}.npy")
            for q in sorted(set(before) | set(after)):
                rows.append(dict(case=tag, K=case["K"], n_train=case["n_train"], d=case["d"], quantity=q,
                                 before=before.get(q), after=after.get(q)))
            for what, v in agree.items():
                rows.append(dict(case=tag, K=case["K"], n_train=case["n_train"], d=case["d"],
                                 quantity=f"{what}_relative_difference", before=None, after=v))
            print(tag, json.dumps(dict(before=before, after=after, agreement=agree)), flush=True)
    df = pd.DataFrame(rows)
    df["after_over_before"] = df.after / df.before
    df.to_csv(a.out, index=False)
    print(df.to_string(index=False, float_format=lambda x: f"{x:.4g}"))

if __name__ == "__main__":
    main()
