# Pilot: the CelebA chapters give each task 500 training images, and the network stays near the majority-class floor.
# Here every task uses the whole identity-disjoint training pool (2,735 images, shared by the nine tasks): how well does
# the same CNN learn, and how does projected MTIF (m = 512, M = 1, relative damping 1) rank source tasks against
# warm-start LOTO (E = 4, lr 3e-4, one minibatch order) on that model? Chapter 21's protocol otherwise.
# Run: MTIF_DATA=../shared/data python scripts/celeba_all_images.py [seed]   (about 30 min on a 2-core CPU)
import sys, time, numpy as np, torch
from scipy import stats
from sklearn.metrics import roc_auc_score
from mtif.datasets import load_celeba
from mtif.nets import shared_bottom, train_mtl, evaluate, warm_start_loto
from mtif.trak import ProjectedMTIF
seed, t0 = int(sys.argv[1]) if len(sys.argv) > 1 else 0, time.perf_counter()
cel = load_celeba(size=32, n_per_task=None, seed=seed, progress=False)
model = shared_bottom(cel, seed=seed)
train_mtl(model, cel, seed=seed, epochs=12, lr=1e-3, batch_size=64, step_size=8, step_gamma=0.3, progress=False, device="cpu")
model.eval()
with torch.no_grad():
    auc = [roc_auc_score(y.numpy(), model.head(model.features(X), k).squeeze(-1).numpy()) for k, (X, y) in enumerate(cel.split("val"))]
maj = np.mean([max(float(y.mean()), 1 - float(y.mean())) for _, y in cel.split("test")])
print(f"seed {seed}: {cel.sizes('train')[0]} training images per task; val AUC mean {np.mean(auc):.3f}; test acc "
      f"{float(evaluate(model, cel, 'test')['acc'].mean()):.4f} vs majority {maj:.4f}; {time.perf_counter() - t0:.0f} s", flush=True)
T_hat = ProjectedMTIF([model], cel, proj_dim=512, hessian="trak", seed=seed, relative_damping=1.0, progress=False).task_influence()
D = warm_start_loto(model, cel, epochs=4, lr=3e-4, batch_size=64, seed=7000 + seed, device="cpu", progress=False)[-1]
K = cel.K
rho = [stats.spearmanr(T_hat[k, [l for l in range(K) if l != k]], D[k, [l for l in range(K) if l != k]])[0] for k in range(K)]
print(f"projected MTIF vs warm-start LOTO, per target: {' '.join(f'{r:+.2f}' for r in rho)}; mean {np.mean(rho):+.3f}; "
      f"mean |Delta| {D.nan_to_num().abs().sum() / (K * K - K):.4f}; {time.perf_counter() - t0:.0f} s", flush=True)
