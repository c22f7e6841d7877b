"""Where does MTIF predict leave-one-task-out on a network? A pilot of issue 39's regime map, on a network small enough
for the exact Hessian: a shared-bottom MLP (10 inputs, one hidden layer of `width` units, K = 6 binary heads) on
the paper's synthetic tasks (chapter 00, labels binarized; 80 training points per task), trained by the package's
trainer (Adam 1e-2, batches of 16) with weight decay w, read at several training lengths E. The hidden layer is the
package's (`mlp_encoder`: ReLU), whose "exact" Hessian is that of a piecewise-quadratic objective (ReLU's second
derivative is 0 almost everywhere).

At each (w, width, seed, E), on the model trained for E epochs:
  * MTIF, task level (Eq. 13), with the exact Hessian, the Gauss-Newton matrix, and projected MTIF (m = 64), each
    damped by rho = w + 1e-4 (w is the decay's own curvature; 1e-4 keeps the undamped ones invertible);
  * ground truths: cold-start LOTO from the same initialization (data orders 0 and 1; their mean is the truth, their
    agreement the noise ceiling) and warm-start LOTO (E/4 more epochs from the trained model, at least 5);
  * the model's state: train loss, test accuracy, gradient norm of the objective (how far from stationary), and the
    smallest eigenvalue of the exact Hessian + w (negative: not at a minimum).
Rows go to a CSV, one (w, width, seed) cell at a time (resumable; two processes can split the seeds). The summary
prints the mean Spearman per (w, E) for each estimator and truth with the ceiling, and draws the map.

`--converged`: a smooth network (tanh instead of ReLU: a strict minimum and its Hessian need a twice-differentiable
objective, and L-BFGS stalls at ReLU's kinks) taken to a strict local minimum (300 Adam epochs, then full-batch L-BFGS on
the objective until its gradient norm is below 1e-9), and the ground truth that influence functions approximate there:
leave-one-task-out from that minimum, each refit also taken to convergence by L-BFGS (converged warm LOTO), and
converged cold-start LOTO from the initialization (Adam then L-BFGS without the task); rows to converged.csv.

`--agreement`: the ground-truth-free diagnostic (`ProjectedMTIF.agreement`) on the same grid: a second model per cell
(another initialization and data order), the two models' agreement for each estimator, and the agreement of two
projection seeds on one model; rows to agreement.csv. The report joins it to cells.csv: does the models' agreement
track how well MTIF predicts cold-start LOTO across the regimes?

    python scripts/regime_map.py [--seeds 0 1 2] [--widths 8 32] [--out figures/regime_map] [--converged | --agreement] [--report-only]
"""
import argparse, copy, time, warnings
from pathlib import Path
import numpy as np, pandas as pd, torch

DECAYS, LENGTHS = [0.0, 1e-3, 1e-2, 1e-1], [5, 20, 80, 300]

def cell(decay, width, seed, lengths=tuple(LENGTHS)):
    from mtif.data import make_synthetic, binarize
    from mtif.nets import SharedBottom, mlp_encoder, train_mtl, evaluate, cold_start_loto, warm_start_loto
    from mtif.trak import dense_gn_mtif, ProjectedMTIF
    from mtif.baselines import per_target_spearman
    torch.set_num_threads(1); warnings.simplefilter("ignore")
    data = binarize(make_synthetic(K=6, n=240, d=10, delta=1.0, eps=0.2, seed=seed))
    torch.manual_seed(seed)
    init = SharedBottom(mlp_encoder(10, width), width, data.K).double()
    kw = dict(lr=1e-2, batch_size=16, weight_decay=decay, device="cpu", progress=False)
    t0 = time.perf_counter()
    cold = [cold_start_loto(init, data, record_epochs=list(lengths), seed=o, epochs=max(lengths), **kw) for o in (0, 1)]
    t_cold = time.perf_counter() - t0
    rows = []
    for e, E in enumerate(lengths):
        m = copy.deepcopy(init); train_mtl(m, data, epochs=E, seed=0, **kw)   # order 0's schedule, seed and data order, read at E
        m.zero_grad(); L = _objective(m, data, decay); L.backward()
        gnorm = torch.cat([p.grad.flatten() for p in m.parameters()]).norm().item()
        rho = decay + 1e-4
        t1 = time.perf_counter()
        est = {"exact Hessian": dense_gn_mtif(m, data, "exact", rho=rho)[1], "Gauss-Newton": dense_gn_mtif(m, data, "gn", rho=rho)[1],
               "projected, m=64": ProjectedMTIF(m, data, proj_dim=64, hessian="gn", damping=rho, dtype=torch.float64, progress=False).task_influence()}
        t_mtif = time.perf_counter() - t1
        lam_min = _lam_min(m, data, decay)
        warm = warm_start_loto(m, data, epochs=max(5, E // 4), lr=1e-2, seed=0, progress=False, batch_size=16, weight_decay=decay, device="cpu")[-1]
        truths = {"cold LOTO (mean of 2 orders)": (cold[0][e] + cold[1][e]) / 2, "warm LOTO": warm}
        ev = evaluate(m, data, "test")
        base = dict(decay=decay, width=width, seed=seed, epochs=E, params=sum(p.numel() for p in m.parameters()), train_loss=L.item(), grad_norm=gnorm, lam_min=lam_min,
                    test_acc=ev["acc"].mean().item(), seconds_cold_loto=t_cold, seconds_mtif=t_mtif)
        rows.append(dict(base, estimator="cold LOTO order 1", truth="cold LOTO order 0", spearman=np.nanmean(per_target_spearman(cold[1][e], cold[0][e]))))
        rows.append(dict(base, estimator="warm LOTO", truth="cold LOTO (mean of 2 orders)", spearman=np.nanmean(per_target_spearman(warm, truths["cold LOTO (mean of 2 orders)"]))))
        for name, T in est.items():
            for tname, G in truths.items():
                rows.append(dict(base, estimator=name, truth=tname, spearman=np.nanmean(per_target_spearman(T, G))))
    return rows

def agreement_cell(decay, width, seed, lengths=tuple(LENGTHS)):
    from mtif.data import make_synthetic, binarize
    from mtif.nets import SharedBottom, mlp_encoder, train_mtl
    from mtif.trak import dense_gn_mtif, ProjectedMTIF
    from mtif.baselines import per_target_spearman
    torch.set_num_threads(1); warnings.simplefilter("ignore")
    data = binarize(make_synthetic(K=6, n=240, d=10, delta=1.0, eps=0.2, seed=seed))
    inits = []
    for s in (seed, seed + 1000):                  # model A as in `cell`; model B: another initialization and data order
        torch.manual_seed(s); inits.append(SharedBottom(mlp_encoder(10, width), width, data.K).double())
    kw = dict(lr=1e-2, batch_size=16, weight_decay=decay, device="cpu", progress=False)
    rows, rho = [], decay + 1e-4
    for E in lengths:
        ms = [copy.deepcopy(i) for i in inits]
        for m, o in zip(ms, (0, 1)): train_mtl(m, data, epochs=E, seed=o, **kw)
        for name, hess in (("exact Hessian", "exact"), ("Gauss-Newton", "gn")):
            Ta, Tb = (dense_gn_mtif(m, data, hess, rho=rho)[1] for m in ms)
            r = float(np.nanmean(per_target_spearman(Ta, Tb)))
            rows.append(dict(epochs=E, estimator=name, check="two models", agreement=r, reliability_of_2=2 * r / (1 + r) if r > -1 else np.nan))
        pm = ProjectedMTIF(ms, data, proj_dim=64, hessian="gn", damping=rho, dtype=torch.float64, progress=False)
        ag = pm.agreement()
        rows.append(dict(epochs=E, estimator="projected, m=64", check="two models", agreement=ag["mean"], reliability_of_2=ag["reliability"]))
        Tp = [ProjectedMTIF(ms[0], data, proj_dim=64, hessian="gn", damping=rho, dtype=torch.float64, progress=False, seed=ps).task_influence()
              for ps in (0, 1)]
        r = float(np.nanmean(per_target_spearman(Tp[0], Tp[1])))
        rows.append(dict(epochs=E, estimator="projected, m=64", check="two projection seeds", agreement=r, reliability_of_2=2 * r / (1 + r) if r > -1 else np.nan))
    return rows

def report_agreement(ag, cells, out: Path):
    "Does the ground-truth-free agreement track accuracy against cold-start LOTO across the regimes?"
    from scipy import stats
    acc = (cells[cells.truth == "cold LOTO (mean of 2 orders)"].groupby(["width", "decay", "epochs", "estimator"]).spearman.mean()
           .rename("spearman_with_cold_loto"))
    ceil = cells[cells.estimator == "cold LOTO order 1"].groupby(["width", "decay", "epochs"]).spearman.mean().rename("ceiling")
    two = ag[ag.check == "two models"].groupby(["width", "decay", "epochs", "estimator"])[["agreement", "reliability_of_2"]].mean()
    j = two.join(acc, how="inner").join(ceil)
    j["accurate"] = j.spearman_with_cold_loto > j.ceiling / 2
    j["trusted"] = j.reliability_of_2 >= 0.5
    print("\nTwo independently trained models' agreement against each estimator's accuracy (mean over seeds):")
    print(j.reset_index().assign(decay=lambda d: d.decay.map("{:g}".format)).to_string(index=False, float_format=lambda x: f"{x:.2f}"))
    rows = []
    for est, g in j.groupby(level="estimator"):
        rho, pv = stats.spearmanr(g.agreement, g.spearman_with_cold_loto)
        ct = pd.crosstab(g.trusted, g.accurate)
        rows.append(dict(estimator=est, conditions=len(g), spearman_agreement_vs_accuracy=rho, p_value=pv,
                         trusted_and_accurate=int(((g.trusted) & (g.accurate)).sum()), trusted_not_accurate=int(((g.trusted) & (~g.accurate)).sum()),
                         not_trusted_but_accurate=int(((~g.trusted) & (g.accurate)).sum()), neither=int(((~g.trusted) & (~g.accurate)).sum())))
    t = pd.DataFrame(rows)
    print("\nAcross the (width, decay, epochs) conditions: Spearman of agreement with accuracy, and the diagnostic's verdict "
          "(reliability of two models >= 0.5) against accuracy (> half the ceiling):")
    print(t.to_string(index=False, float_format=lambda x: f"{x:.3g}"))
    proj = ag[ag.check == "two projection seeds"].groupby(["width", "decay", "epochs"]).agreement.mean()
    print("\nTwo projection seeds on one model (m = 64), mean over seeds:")
    print(proj.unstack("epochs").rename(index="{:g}".format, level="decay").to_string(float_format=lambda x: f"{x:.2f}"))
    j.to_csv(out / "agreement_summary.csv"); t.to_csv(out / "agreement_verdicts.csv", index=False)
    return t

def _objective(m, data, decay, tasks=None, weights=None):
    """The trainer's objective on the full training set: the summed task mean losses (of `tasks`, each times its entry of
    `weights`) plus (decay/2)||theta||^2."""
    ks = range(data.K) if tasks is None else tasks
    wt = weights if weights is not None else [1.0] * data.K
    return sum(wt[k] * torch.nn.functional.softplus(-(2 * data.train[k][1] - 1) * m(data.train[k][0], task=k)[:, 0]).mean() for k in ks) \
        + decay / 2 * sum(p.square().sum() for p in m.parameters())

def _lam_min(m, data, decay) -> float:
    "The smallest eigenvalue of the objective's exact Hessian at `m`'s parameters (negative: not at a minimum)."
    from torch.func import functional_call, hessian
    names, params = zip(*m.named_parameters()); shapes, sizes = [p.shape for p in params], [p.numel() for p in params]
    def obj(w):
        ps = dict(zip(names, [t.view(s) for t, s in zip(torch.split(w, sizes), shapes)]))
        return sum(torch.nn.functional.softplus(-(2 * y - 1) * functional_call(m, ps, (X,), dict(task=k))[:, 0]).mean()
                   for k, (X, y) in enumerate(data.train)) + decay / 2 * w.square().sum()
    return torch.linalg.eigvalsh(hessian(obj)(torch.cat([p.detach().flatten() for p in params]))).min().item()

def _polish(m, data, decay, tasks=None, tol=1e-9, rounds=20, weights=None):
    "Full-batch L-BFGS (strong Wolfe) on the objective until its gradient norm is below `tol`; returns that norm."
    opt = torch.optim.LBFGS(m.parameters(), lr=1, max_iter=500, history_size=50, tolerance_grad=tol / 10, tolerance_change=0,
                            line_search_fn="strong_wolfe")
    def closure():
        opt.zero_grad(); L = _objective(m, data, decay, tasks, weights); L.backward(); return L
    for _ in range(rounds):
        opt.step(closure)
        g = torch.cat([p.grad.flatten() for p in m.parameters()]).norm().item()
        if g < tol: break
    return g

def converged_cell(decay, width, seed):
    from mtif.data import make_synthetic, binarize
    from mtif.nets import SharedBottom, mlp_encoder, train_mtl, evaluate
    from mtif.trak import dense_gn_mtif
    from mtif.baselines import per_target_spearman
    from scipy import stats
    torch.set_num_threads(1); warnings.simplefilter("ignore")
    data = binarize(make_synthetic(K=6, n=240, d=10, delta=1.0, eps=0.2, seed=seed))
    torch.manual_seed(seed)
    init = SharedBottom(torch.nn.Sequential(torch.nn.Linear(10, width), torch.nn.Tanh()), width, data.K).double()
    kw = dict(lr=1e-2, batch_size=16, weight_decay=decay, device="cpu", progress=False, epochs=300)
    def fit(tasks, start=None):
        m = copy.deepcopy(init if start is None else start)
        if start is None: train_mtl(m, data, tasks=tasks, seed=0, **kw)
        m.train(); g = _polish(m, data, decay, tasks); m.eval(); return m, g
    m, g = fit(None)
    V = evaluate(m, data, "val")["loss"]
    lam_min = _lam_min(m, data, decay)
    K, rows = data.K, []
    warm, cold, gmax = torch.full((K, K), float("nan"), dtype=torch.float64), torch.full((K, K), float("nan"), dtype=torch.float64), []
    for l in range(K):
        rest = [k for k in range(K) if k != l]
        mw, gw = fit(rest, start=m); warm[:, l] = V - evaluate(mw, data, "val")["loss"]
        mc, gc = fit(rest); cold[:, l] = V - evaluate(mc, data, "val")["loss"]
        gmax += [gw, gc]
    lin, eps = torch.full((K, K), float("nan"), dtype=torch.float64), 1e-3     # the influence function's own definition:
    for l in range(K):                                                          # task l down-weighted by eps, re-converged
        ml = copy.deepcopy(m); ml.train(); _polish(ml, data, decay, weights=[1 - eps * (k == l) for k in range(K)]); ml.eval()
        lin[:, l] = (V - evaluate(ml, data, "val")["loss"]) / eps
    warm.fill_diagonal_(float("nan")); cold.fill_diagonal_(float("nan")); lin.fill_diagonal_(float("nan"))
    est = {"exact Hessian": dense_gn_mtif(m, data, "exact", rho=decay)[1] if lam_min > 0 else None,
           "Gauss-Newton": dense_gn_mtif(m, data, "gn", rho=decay + 1e-4)[1]}
    off = ~torch.eye(K, dtype=torch.bool)
    base = dict(decay=decay, width=width, seed=seed, params=sum(p.numel() for p in m.parameters()), grad_norm=g, lam_min=lam_min, refit_grad_norm_max=max(gmax),
                test_acc=evaluate(m, data, "test")["acc"].mean().item())
    rows.append(dict(base, estimator="converged cold LOTO", truth="converged warm LOTO", spearman=np.nanmean(per_target_spearman(cold, warm)),
                     pearson=stats.pearsonr(cold[off], warm[off])[0]))
    rows.append(dict(base, estimator="linearized LOTO (eps = 1e-3)", truth="converged warm LOTO", spearman=np.nanmean(per_target_spearman(lin, warm)),
                     pearson=stats.pearsonr(lin[off], warm[off])[0]))
    for name, T in est.items():
        if T is None: continue                                          # not a minimum: no exact-Hessian influence
        for tname, G in (("linearized LOTO (eps = 1e-3)", lin), ("converged warm LOTO", warm), ("converged cold LOTO", cold)):
            rows.append(dict(base, estimator=name, truth=tname, spearman=np.nanmean(per_target_spearman(T, G)),
                             pearson=stats.pearsonr(T[off], G[off])[0]))
    return rows

def report_converged(df, out: Path):
    from mtif.results import sem
    print("\nAt a strict local minimum (L-BFGS to gradient norm < 1e-9): mean over seeds")
    st = df.groupby(["width", "decay"])[["grad_norm", "lam_min", "refit_grad_norm_max", "test_acc"]].agg(["mean"]).droplevel(1, axis=1)
    print(st.to_string(float_format=lambda x: f"{x:.3g}"))
    t = df.groupby(["width", "estimator", "truth", "decay"])[["spearman", "pearson"]].agg(["mean", sem, "count"])
    print(t.to_string(float_format=lambda x: f"{x:.2f}"))
    t.to_csv(out / "converged_summary.csv")

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2]); ap.add_argument("--widths", type=int, nargs="+", default=[8, 32])
    ap.add_argument("--decays", type=float, nargs="+", default=DECAYS)
    ap.add_argument("--out", default="figures/regime_map"); ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--converged", action="store_true", help="the strict-minimum part (converged.csv)")
    ap.add_argument("--agreement", action="store_true", help="the ground-truth-free diagnostic (agreement.csv)")
    ap.add_argument("--workers", type=int, default=None)
    a = ap.parse_args()
    from mtif.selection import run_cells
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    cells = [dict(decay=w, width=h, seed=s) for s in a.seeds for h in a.widths for w in a.decays]
    if a.agreement:
        rows = pd.read_csv(out / "agreement.csv") if a.report_only else run_cells(cells, agreement_cell, out / "agreement.csv", desc="regime map, agreement", workers=a.workers)
        return report_agreement(pd.DataFrame(rows), pd.read_csv(out / "cells.csv"), out)
    if a.converged:
        rows = pd.read_csv(out / "converged.csv") if a.report_only else run_cells(cells, converged_cell, out / "converged.csv", desc="regime map, converged")
        return report_converged(pd.DataFrame(rows), out)
    rows = run_cells([] if a.report_only else cells, cell, out / "cells.csv", desc="regime map") if not a.report_only else pd.read_csv(out / "cells.csv")
    report(pd.DataFrame(rows), out)

def report(df, out: Path):
    import matplotlib; matplotlib.use("Agg"); import matplotlib.pyplot as plt
    from mtif.results import set_style, sem
    set_style()
    ceil = df[df.estimator == "cold LOTO order 1"].groupby(["width", "decay", "epochs"]).spearman.mean().rename("ceiling")
    tab = (df[df.truth != "cold LOTO order 0"].groupby(["width", "estimator", "truth", "decay", "epochs"]).spearman.agg(["mean", sem, "count"]))
    state = df.groupby(["width", "decay", "epochs"])[["train_loss", "grad_norm", "lam_min", "test_acc"]].mean()
    pd.set_option("display.width", 200)
    print("model state (mean over seeds):"); print(state.to_string(float_format=lambda x: f"{x:.3g}"))
    print("\nnoise ceiling (cold LOTO of order 1 against order 0), mean over seeds:"); print(ceil.unstack("epochs").to_string(float_format=lambda x: f"{x:.2f}"))
    cold = tab.xs("cold LOTO (mean of 2 orders)", level="truth")["mean"].unstack("epochs")
    print("\nLOTO Spearman against cold LOTO (mean of 2 orders), mean over seeds:"); print(cold.to_string(float_format=lambda x: f"{x:.2f}"))
    warm = tab.xs("warm LOTO", level="truth")["mean"].unstack("epochs")
    print("\nagainst warm-start LOTO:"); print(warm.to_string(float_format=lambda x: f"{x:.2f}"))
    ok = tab.xs("cold LOTO (mean of 2 orders)", level="truth").join(ceil)
    ok["beyond half the ceiling"] = ok["mean"] - 2 * ok["sem"] > ok.ceiling / 2
    print("\nverdict: (width, estimator, decay, epochs) where MTIF exceeds half the ceiling by 2 s.e.:")
    print(ok[ok["beyond half the ceiling"]].reset_index()[["width", "estimator", "decay", "epochs", "mean", "sem", "ceiling"]].to_string(index=False, float_format=lambda x: f"{x:.2f}"))
    tab.to_csv(out / "summary.csv"); state.to_csv(out / "state.csv")
    widths, ests = sorted(df.width.unique()), ["exact Hessian", "Gauss-Newton", "projected, m=64", "warm LOTO"]
    fig, axs = plt.subplots(len(widths), len(ests), figsize=(3.2 * len(ests), 2.8 * len(widths)), squeeze=False, sharey=True)
    for i, h in enumerate(widths):
        for j, est in enumerate(ests):
            ax = axs[i, j]
            for w, col in zip(sorted(df.decay.unique()), plt.cm.viridis(np.linspace(0, .9, df.decay.nunique()))):
                g = tab.loc[(h, est, "cold LOTO (mean of 2 orders)", w)]["mean"]; ax.plot(g.index, g.values, marker="o", color=col, label=f"decay {w:g}")
            c = ceil.loc[h].groupby("epochs").mean(); ax.plot(c.index, c.values, "k--", lw=1, label="noise ceiling (mean over decays)")
            ax.set_xscale("log"); ax.axhline(0, color="k", lw=.5); ax.set_title(f"{est}, width {h}", fontsize=8)
            if i == len(widths) - 1: ax.set_xlabel("epochs")
        axs[i, 0].set_ylabel("Spearman with cold LOTO")
    axs[0, -1].legend(fontsize=6)
    fig.suptitle("Regime map (pilot): task-level MTIF against leave-one-task-out, synthetic K=6, shared-bottom MLP", fontsize=9)
    fig.tight_layout(); fig.savefig(out / "regime_map.png", dpi=120)
    print(f"\nwritten: {out / 'summary.csv'}, {out / 'state.csv'}, {out / 'regime_map.png'}")

if __name__ == "__main__": main()
