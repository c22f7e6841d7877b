"""Pilot for chapter 17's Office-31 part (seed 1, not reported): HPS CNN from scratch on 32x32 images, EW, Adam lr 1e-3, batch 64,
evaluated every 10 epochs to fix the training length. Run: `OMP_NUM_THREADS=1 MTIF_DATA=../shared/data python scripts/office31_pilot.py 32`
(one CPU thread; the committed log `figures/office31_pilot_32px.txt` ran beside two other jobs on a 2-core machine)."""
import time, torch, numpy as np, sys
torch.set_num_threads(1)
from mtif.datasets import load_office31
from mtif.archs import architecture
from mtif.nets import train_mtl, evaluate
size = int(sys.argv[1]) if len(sys.argv) > 1 else 32
d = load_office31(size=size, progress=False, seed=1)
print(d, flush=True)
m = architecture("HPS", d, seed=1, out_dim=31)
E = 100; ck = f"/tmp/office31_pilot_{size}.pt"
t0 = time.time()
for stop in range(10, 61, 10):                 # the log committed in figures/ stops at 60 of the 100-epoch schedule
    h = train_mtl(m, d, "multiclass", epochs=E, lr=1e-3, batch_size=64, step_size=50, step_gamma=0.5, seed=1, progress=False,
                  checkpoint=ck, checkpoint_every=10, stop_after=stop)
    v, te, tr = evaluate(m, d, "val", "multiclass"), evaluate(m, d, "test", "multiclass"), evaluate(m, d, "train", "multiclass")
    print(f"epoch {stop:3d} {time.time()-t0:6.0f}s train loss {h['train_loss'][-1]:.3f} train acc {tr['acc'].numpy().round(3)} "
          f"val loss {v['loss'].numpy().round(3)} val acc {v['acc'].numpy().round(3)} test acc {te['acc'].numpy().round(3)}", flush=True)
