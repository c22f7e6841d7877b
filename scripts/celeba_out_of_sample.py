# Out-of-sample check of the CelebA chapter's damping choice: seeds 5-9, same protocol as nbs/10_celeba (full mode), CPU.
# Run: MTIF_DATA=../shared/data python scripts/celeba_out_of_sample.py  (about 37 minutes on a 2-core CPU)
import numpy as np, torch, time
from mtif.datasets import load_celeba
from mtif.nets import shared_bottom, train_mtl, cold_start_loto
from mtif.trak import ProjectedMTIF
from mtif.baselines import per_target_spearman
from mtif.results import sem
torch.set_num_threads(2)
kw = dict(epochs=12, lr=1e-3, batch_size=64, step_size=8, step_gamma=0.3, progress=False, device="cpu")
sp = lambda Th, Tt: np.nanmean(per_target_spearman(Th, Tt))
res = {a: [] for a in (1e-4, 1.0)}
t00 = time.perf_counter()
for seed in range(5, 10):
    cel = load_celeba(size=32, n_per_task=500, seed=seed, progress=False)
    base = shared_bottom(cel, seed=seed)
    Tt = cold_start_loto(base, cel, **kw, seed=seed)[-1]            # from base's initialization, which it leaves unchanged
    train_mtl(base, cel, seed=seed, **kw)
    ens = [base]
    for j in range(1, 3):
        mj = shared_bottom(cel, seed=100 * seed + j); train_mtl(mj, cel, seed=100 * seed + j, **kw); ens.append(mj)
    pm = ProjectedMTIF(ens, cel, proj_dim=512, hessian="trak", relative_damping=0.0, seed=seed, progress=False)
    for a in res: res[a].append(sp(pm.set_damping(relative_damping=a).task_influence(), Tt))
    print(f"seed {seed}: " + ", ".join(f"alpha={a}: {res[a][-1]:+.3f}" for a in res) + f"  ({time.perf_counter() - t00:.0f} s)", flush=True)
for a, v in res.items():
    print(f"relative damping {a}: {np.mean(v):+.3f} ± {sem(v):.3f} over seeds 5-9", flush=True)
