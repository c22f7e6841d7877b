# How reproducible is the CelebA ground truth itself? Leave-one-task-out on one data split (the CelebA chapter's
# protocol: 500 images/task, 32x32, 12 epochs, retraining from the base run's initialization and data order), done
# twice with two different initialization / data-order seeds. The Spearman between the two LOTO matrices, per target
# task, is a ceiling for any predictor that does not know the initialization (MTIF's ensemble does not).
# Run: MTIF_DATA=../shared/data python scripts/celeba_loto_ceiling.py [data_seed ...]   (about 20 min per split on a 2-core CPU)
import copy, sys, time, numpy as np, torch
from scipy import stats
from mtif.datasets import load_celeba
from mtif.nets import shared_bottom, train_mtl, evaluate
kw = dict(epochs=12, lr=1e-3, batch_size=64, step_size=8, step_gamma=0.3, progress=False, device="cpu")

def loto(cel, seed):
    base = shared_bottom(cel, seed=seed); init = copy.deepcopy(base.state_dict())
    train_mtl(base, cel, seed=seed, **kw); V = evaluate(base, cel)["loss"]
    T = torch.full((cel.K, cel.K), float("nan"))
    for l in range(cel.K):
        m = shared_bottom(cel, seed=seed)
        train_mtl(m, cel, seed=seed, tasks=[k for k in range(cel.K) if k != l], init_state=init, **kw)
        T[:, l] = V - evaluate(m, cel)["loss"]
    return T.fill_diagonal_(float("nan"))

t0 = time.perf_counter()
for data_seed in [int(a) for a in sys.argv[1:]] or [0]:
    cel = load_celeba(size=32, n_per_task=500, seed=data_seed, progress=False)
    A, B = loto(cel, 1000 + data_seed), loto(cel, 2000 + data_seed)
    K = cel.K
    rho = [stats.spearmanr(A[k, [l for l in range(K) if l != k]], B[k, [l for l in range(K) if l != k]])[0] for k in range(K)]
    print(f"data split {data_seed}: Spearman between the LOTO matrices of two initializations, per target: "
          + " ".join(f"{r:+.2f}" for r in rho) + f"; mean {np.mean(rho):+.3f} ± {np.std(rho, ddof=1) / np.sqrt(K):.3f} (s.e. over targets); "
          f"mean |Delta| {A.nan_to_num().abs().sum() / (K * K - K):.4f} / {B.nan_to_num().abs().sum() / (K * K - K):.4f}; {time.perf_counter() - t0:.0f} s", flush=True)
