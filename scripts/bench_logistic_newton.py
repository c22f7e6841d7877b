"""The logistic Newton step at scale: every target's Newton-step scores for multitask logistic regression (d = 50,
1,000 training points per task), the general step (`_newton_general`, what ran before) against the fused one
(`_newton_logistic`), on one thread in one process, best of `--reps`, with the step's flop floor measured in the same
run: its one unavoidable product, sigma X^v A^{-1} B (T m q) times u (q n) for every source task, as one GEMM at the
measured float64 rate (2 K T m n q flops in all).

    python scripts/bench_logistic_newton.py [--K 10 20 100] [--reps 3] [--skip-general-above 20] [--out figures/bench_logistic_newton.csv]
"""
import argparse, time, warnings
from pathlib import Path
import pandas as pd, torch

def best(f, reps):
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter(); r = f(); ts.append(time.perf_counter() - t0)
    return min(ts), r

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--K", type=int, nargs="+", default=[10, 20, 100]); ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--n", type=int, default=1000, help="training points per task"); ap.add_argument("--d", type=int, default=50)
    ap.add_argument("--skip-general-above", type=int, default=20, help="K above which the general step is not timed (it grows as K^2)")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    torch.set_num_threads(1); warnings.simplefilter("ignore")
    from mtif.data import make_synthetic, binarize
    from mtif.linear import MultitaskLogistic
    from mtif.influence import _prepare, _newton_general, _newton_logistic
    rows = []
    for K in a.K:
        data = binarize(make_synthetic(K=K, n=3 * a.n, d=a.d, seed=0, device="cpu"))
        model = MultitaskLogistic(0.5).fit(data)
        s = _prepare(model, data, "val"); tg = torch.arange(K)
        m, n, q = s.Xv.shape[1], s.Xd.shape[1], s.solver.H.q
        A, B = torch.randn(K * m, q, dtype=torch.float64), torch.randn(q, n, dtype=torch.float64)
        C = torch.empty(K * m, n, dtype=torch.float64)
        t_gemm, _ = best(lambda: torch.mm(A, B, out=C), a.reps)
        floor = K * t_gemm                                                               # one such GEMM per source task
        t_new, D_new = best(lambda: _newton_logistic(s, tg), a.reps)
        row = dict(K=K, n_train=n, n_val=m, d=a.d, q=q, gflops_floor=2 * K * K * m * n * q / 1e9, floor_s=floor,
                   gemm_gflop_s=2 * K * m * n * q / t_gemm / 1e9, fused_s=t_new, fused_over_floor=t_new / floor)
        if K <= a.skip_general_above:
            t_old, D_old = best(lambda: _newton_general(model, s, tg), a.reps)
            diff = float((D_new - D_old).nan_to_num().abs().max() / D_old.nan_to_num().abs().max())
            row.update(general_s=t_old, general_over_floor=t_old / floor, speedup=t_old / t_new, max_rel_difference=diff)
        rows.append(row); print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
    df = pd.DataFrame(rows)
    print(df.to_string(index=False, float_format=lambda x: f"{x:.3g}"))
    if a.out: df.to_csv(a.out, index=False); print(f"written: {a.out}")

if __name__ == "__main__": main()
