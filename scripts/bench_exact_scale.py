"""The exact path at scale: first-order scores of every target, one target, task level and the Newton step, for ridge
with d = 50 at K = 100 tasks x 1,000 training points, K = 400 x 250 and K = 1,000 x 100; the block solve with 1,000
right-hand sides (p = q = 50) at K = 100 and 400; and the logistic Newton step at K = 20 x 1,000 (and K = 100 x 1,000
for the new code). Timed for the code of two checkouts (best of `--reps`, one thread), with the peak memory growth of the
first-order call, and the new code's floors measured in the same process.

    python scripts/bench_exact_scale.py --before /path/to/old/checkout [--reps 3] [--out figures/bench_exact_scale.csv]

The old checkout is run first, then the new one, each in its own process on one thread; run it with nothing else on the
machine. "Whole" calls start from a model with nothing prepared (the one-shot functions keep their preparation on the
model since fca0616; it is dropped before each repetition, so both checkouts pay it). Agreement: the new results of
three targets (or the whole solve) against the old ones (relative Frobenius difference). Writes one row per case and
quantity (before, after, their ratio, and the before checkout's commit), the floors and ratios chapter 90 reports.
"""
import argparse, json, os, subprocess, sys, tempfile
from pathlib import Path
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
CASES = [dict(kind="ridge", K=100, n_train=1000, d=50), dict(kind="ridge", K=400, n_train=250, d=50),
         dict(kind="ridge", K=1000, n_train=100, d=50), dict(kind="block_solve", K=100, p=50, q=50, r=1000),
         dict(kind="block_solve", K=400, p=50, q=50, r=1000), dict(kind="logistic_newton", K=20, n_train=1000, d=50),
         dict(kind="logistic_newton", K=100, n_train=1000, d=50, new_only=True)]

CHILD = r"""
import json, sys, time, threading, warnings
import numpy as np, psutil, torch
torch.set_num_threads(1)
from mtif.data import make_synthetic, binarize
from mtif.linear import MultitaskRidge, MultitaskLogistic
import mtif.influence as inf
case, reps, dump = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
K = case["K"]
warnings.simplefilter("ignore")
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
g = torch.Generator().manual_seed(0)
def rnd(*shape): return torch.randn(*shape, generator=g, dtype=torch.float64)
out = {}
rows = [0, K // 2, K - 1]
if case["kind"] == "ridge":
    d = case["d"]
    data = make_synthetic(K=K, n=3 * case["n_train"], d=d, seed=0, device="cpu")
    m = MultitaskRidge(0.5).fit(data)
    def fresh(f):                                  # a whole call: nothing prepared on the model beforehand
        def call():
            m.__dict__.pop("_prepared_", None); return f()
        return call
    D, grow = peak_growth(fresh(lambda: inf.data_influence_all(m, data)))
    np.save(dump + "_result.npy", D[rows].numpy())
    out["output_bytes"] = D.numel() * 8
    del D
    out["first_order_peak_growth_bytes"] = grow
    out["first_order_all"] = best(fresh(lambda: inf.data_influence_all(m, data)))
    out["one_target"] = best(fresh(lambda: inf.data_influence(m, data, K // 2)))
    out["task_level"] = best(fresh(lambda: inf.task_influence(m, data)))
    if K <= 100:
        t0 = time.perf_counter(); N = fresh(lambda: inf.data_influence_all(m, data, method="newton"))(); out["newton_all"] = time.perf_counter() - t0
        np.save(dump + "_newton.npy", N[rows].numpy()); del N
    if hasattr(inf, "prepared"):                   # the one-shot functions keep their preparation on the model
        inf.data_influence(m, data, 0)
        out["one_target_later"] = best(lambda: inf.data_influence(m, data, K // 2))
    out["prepare"] = best(lambda: inf.MTIF(m, data))
    mt = inf.MTIF(m, data)
    out["one_target_prepared"] = best(lambda: mt.data_influence(K // 2))
    out["first_order_all_prepared"] = best(lambda: mt.data_influence_all())
    n_max, q = max(data.sizes()), d
    buf = torch.empty(K, K, n_max, dtype=torch.float64)
    out["first_order_all_prepared_into_out"] = best(lambda: mt.data_influence_all(out=buf))
    Us, XB, X = rnd(q, K), rnd(K * n_max, q).T, rnd(K, n_max, q)
    out["floor_scores_fresh"] = best(lambda: torch.mm(Us.T, XB))                    # 2 K N q flops into a new K x N array
    out["floor_scores_into_out"] = best(lambda: torch.mm(Us.T, XB, out=buf.view(K, -1)))   # ... into an existing one
    out["floor_gram"] = best(lambda: X.transpose(1, 2) @ X)                         # the Hessian blocks: 2 K n p^2 flops
    del buf
    if K <= 100:
        out["newton_all_prepared"] = best(lambda: mt.data_influence_all("newton"), 2)
        U2, M = rnd(K * n_max, q), rnd(q, q)
        Y = torch.empty(K * n_max, q, dtype=torch.float64)
        def newton_floor():
            for _ in range(K): torch.mm(U2, M, out=Y)                     # 2 K N q^2 flops: the quadratic forms' GEMMs
        out["floor_newton"] = best(newton_floor, 2)
elif case["kind"] == "block_solve":                # a positive definite arrowhead matrix, r right-hand sides
    from mtif.hessian import BlockHessian, BlockSolver
    p, q, r = case["p"], case["q"], case["r"]
    X = rnd(K, 200, p)
    A = X.transpose(1, 2) @ X / 200 + 0.5 * torch.eye(p, dtype=torch.float64)
    B = rnd(K, p, q) * 0.1
    C = torch.einsum("kpq,kpr->qr", B, torch.linalg.solve(A, B)) + K * torch.eye(q, dtype=torch.float64)
    S = BlockSolver(BlockHessian(A, B, C))
    vt, vs, v = rnd(K, p, r), rnd(q, r), rnd(K * p + q, r)
    out["block_solve"] = best(lambda: S.solve(vt, vs))
    out["block_solve_dense"] = best(lambda: S.solve_dense(v))
    np.save(dump + "_result.npy", S.solve_dense(v).numpy())
    M1, Bf, o1, o2, o3 = rnd(K, p, p), B.reshape(K * p, q), torch.empty(K, p, r, dtype=torch.float64), \
        torch.empty(q, r, dtype=torch.float64), torch.empty(K * p, r, dtype=torch.float64)
    vf = vt.reshape(K * p, r)
    def solve_floor():                             # its flops as GEMMs into existing arrays: 2Kp^2r + 4Kpqr + 2q^2r
        torch.bmm(M1, vt, out=o1); torch.mm(Bf.T, vf, out=o2); torch.mm(Bf, o2, out=o3); torch.mm(M1[0], o2, out=o2)
    out["floor_block_solve"] = best(solve_floor)
    out["block_solve_gflops"] = (2 * K * p * p * r + 4 * K * p * q * r + 2 * q * q * r) / 1e9
else:                                              # the logistic Newton step, every target
    d = case["d"]
    data = binarize(make_synthetic(K=K, n=3 * case["n_train"], d=d, seed=0, device="cpu"))
    m = MultitaskLogistic(0.5).fit(data)
    mt = inf.MTIF(m, data)
    r = 1 if K > 20 else min(reps, 2)
    N = mt.data_influence_all("newton"); np.save(dump + "_result.npy", N[rows].numpy()); del N
    out["logistic_newton_prepared"] = best(lambda: mt.data_influence_all("newton"), r)
    s = mt.s; mv, n, q = s.Xv.shape[1], s.Xd.shape[1], s.solver.H.q
    A, B, C = rnd(K * mv, q), rnd(q, n), torch.empty(K * mv, n, dtype=torch.float64)
    out["floor_logistic_newton"] = K * best(lambda: torch.mm(A, B, out=C))       # one such GEMM per source task
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
    ap.add_argument("--only", nargs="+", metavar="KIND:K", help="run only these cases (e.g. ridge:100); the committed "
                    "CSV holds every case, so --only needs another --out")
    a = ap.parse_args()
    cases = CASES
    if a.only:
        if Path(a.out).resolve() == (ROOT / "figures" / "bench_exact_scale.csv").resolve():
            ap.error("--only writes a partial table: give it another --out than the committed CSV")
        cases = [c for c in CASES if f"{c['kind']}:{c['K']}" in a.only]
        if not cases: ap.error(f"--only {a.only} matches no case; cases: {[c['kind'] + ':' + str(c['K']) for c in CASES]}")
    import numpy as np
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            before = {} if case.get("new_only") else run(Path(a.before).resolve(), case, a.reps, f"{tmp}/before")
            after = run(ROOT, case, a.reps, f"{tmp}/after")
            tag = (f"block solve K={case['K']} p={case['p']} q={case['q']} r={case['r']}" if case["kind"] == "block_solve" else
                   f"{'logistic ' if case['kind'] == 'logistic_newton' else ''}K={case['K']} x n={case['n_train']} x d={case['d']}")
            agree = {}
            for what in ("result", "newton"):
                if os.path.exists(f"{tmp}/before_{what}.npy"):
                    b, n = np.load(f"{tmp}/before_{what}.npy"), np.load(f"{tmp}/after_{what}.npy")
                    ok = ~np.isnan(b)
                    assert (ok == ~np.isnan(n)).all(), "the NaN padding moved"
                    agree[what] = float(np.linalg.norm(n[ok] - b[ok]) / np.linalg.norm(b[ok]))
                    os.remove(f"{tmp}/before_{what}.npy"); os.remove(f"{tmp}/after_{what}.npy")
            for q in sorted(set(before) | set(after)):
                rows.append(dict(case=tag, kind=case["kind"], K=case["K"], quantity=q, before=before.get(q), after=after.get(q)))
            for what, v in agree.items():
                rows.append(dict(case=tag, kind=case["kind"], K=case["K"], quantity=f"{what}_relative_difference",
                                 before=None, after=v))
            print(tag, json.dumps(dict(before=before, after=after, agreement=agree)), flush=True)
    df = pd.DataFrame(rows)
    df["after_over_before"] = df.after / df.before
    df["before_commit"] = subprocess.run(["git", "-C", str(Path(a.before).resolve()), "rev-parse", "--short", "HEAD"],
                                         capture_output=True, text=True).stdout.strip() or str(a.before)
    df.to_csv(a.out, index=False)
    print(df.to_string(index=False, float_format=lambda x: f"{x:.4g}"))

if __name__ == "__main__":
    main()
