# How reproducible is the CelebA ground truth itself? Leave-one-task-out on one data split (the CelebA chapter's
# protocol: 500 images/task, 32x32, 12 epochs, retraining from the base run's initialization and data order), done
# twice with two different initialization / data-order seeds. The Spearman between the two LOTO matrices, per target
# task, is a ceiling for any predictor that does not know the initialization (MTIF's ensemble does not).
# Run: MTIF_DATA=../shared/data python scripts/celeba_loto_ceiling.py [data_seed ...]   (about 20 min per split on a 2-core CPU)
# (Chapter 23 measures the same reproducibility at the paper's protocol, over two data orders.)
import sys, time, numpy as np
from mtif.datasets import load_celeba
from mtif.nets import shared_bottom, cold_start_loto
from mtif.baselines import per_target_spearman
from mtif.results import sem
kw = dict(epochs=12, lr=1e-3, batch_size=64, step_size=8, step_gamma=0.3, device="cpu")

def loto(cel, seed):
    "Cold-start LOTO from the initialization and data order of `seed` (positive: task l harms task k)."
    return cold_start_loto(shared_bottom(cel, seed=seed), cel, seed=seed, progress=False, **kw)[-1]

t0 = time.perf_counter()
for data_seed in [int(a) for a in sys.argv[1:]] or [0]:
    cel = load_celeba(size=32, n_per_task=500, seed=data_seed, progress=False)
    A, B = loto(cel, 1000 + data_seed), loto(cel, 2000 + data_seed)
    K = cel.K
    rho = per_target_spearman(A, B)
    print(f"data split {data_seed}: Spearman between the LOTO matrices of two initializations, per target: "
          + " ".join(f"{r:+.2f}" for r in rho) + f"; mean {np.mean(rho):+.3f} ± {sem(rho):.3f} (s.e. over targets); "
          f"mean |Delta| {A.nan_to_num().abs().sum() / (K * K - K):.4f} / {B.nan_to_num().abs().sum() / (K * K - K):.4f}; {time.perf_counter() - t0:.0f} s", flush=True)
