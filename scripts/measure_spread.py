"""Measure how far each stochastic metric of the quick-mode regression suite moves when the seeds of the random streams
that another machine would draw differently are perturbed, and set its tolerance from that spread (chapter 96).

For each chapter whose reference holds a stochastic metric, the chapter is rerun in quick mode under `MTIF_PERTURB=p`
for p = 1 .. RUNS-1 (chapter 00: a network's initialization, the trainer's data order and the random projection get
other seeds; data draws and the exact path do not). With the committed reference as the run p = 0, each metric's
sample s.d. over the RUNS values (and that of its standard error) is written into its reference row, and its tolerance
follows (`mtif.reference.stochastic_tolerance`: sqrt(2) t_{RUNS-1}(1 - 1e-3/2) x s.d.; dropped when the s.d. is as large as
the value). Exact metrics are untouched.

    MTIF_DATA=../shared/data python scripts/measure_spread.py [--runs 6] [--only 10 12 ...] [--workers 2]

Resumable: each perturbed run of a chapter lands in runs/spread/p<p>/<chapter>/ with a key of the sources it ran
(the notebook and the package); a run whose key still matches is not repeated (`--reuse`: none is). Validate afterwards with perturbations
the spread never saw, e.g. `MTIF_PERTURB=101 mtif reproduce --quick` and `OMP_NUM_THREADS=2 pytest tests`.
"""
import argparse, hashlib, os, subprocess, sys, time
from pathlib import Path
import numpy as np, pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from mtif.cli import chapters, chapter_summaries
from mtif.results import read_summary
from mtif.reference import read_reference, measured_spread, apply_spread, STOCHASTIC_FLOOR

REFERENCE = ROOT / "tests" / "reference"

def sources_key(nb: Path) -> str:
    "What a chapter's quick run depends on besides the perturbation: the notebook and every module of the package."
    h = hashlib.sha256(nb.read_bytes())
    for f in sorted((ROOT / "mtif").glob("*.py")): h.update(f.name.encode()); h.update(f.read_bytes())
    return h.hexdigest()[:16]

def stochastic_chapters(only) -> list[Path]:
    nbs = chapters(ROOT / "nbs", only)
    has = lambda nb: any((read_reference(f).kind == "stochastic").any() for f in chapter_summaries(REFERENCE, nb.stem))
    return [nb for nb in nbs if has(nb)]

def run_perturbed(p: int, todo: list[Path], out: Path, workers: int) -> float:
    "Run the chapters not yet run under this perturbation with these sources; returns the seconds spent."
    d = out / f"p{p}"
    stale = [nb for nb in todo if not (d / f"{nb.stem}.key").exists() or (d / f"{nb.stem}.key").read_text() != sources_key(nb)]
    if not stale: return 0.0
    t = time.perf_counter()
    # fixed, not left to how many chapters are stale; the caller's OMP_NUM_THREADS wins (two OpenMP threads on a core another
    # job is using made chapter 10's quick run take 770 s instead of 30 s)
    threads = os.environ.get("OMP_NUM_THREADS") or str(max(1, (os.cpu_count() or 1) // workers))
    env = dict(os.environ, MTIF_PERTURB=str(p), OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
    cmd = [sys.executable, "-m", "mtif.cli", "reproduce", "--quick", "--only", *[nb.stem for nb in stale], "--figures", str(d),
           "--out", str(d / "executed"), "--workers", str(workers)]
    r = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    failed = [nb.stem for nb in stale if not chapter_summaries(d / nb.stem, nb.stem)]
    for nb in stale:                                  # what ran is kept for the next attempt
        if nb.stem not in failed: (d / f"{nb.stem}.key").write_text(sources_key(nb))
    if failed: sys.exit(f"perturbation {p}: {failed} wrote no summary (exit {r.returncode}):\n{r.stderr[-3000:]}")
    return time.perf_counter() - t

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=6, help="runs per metric, the committed one included (default 6)")
    ap.add_argument("--only", nargs="+", help="chapters by number or name (default: every chapter with a stochastic metric)")
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="chapters run at once")
    ap.add_argument("--dir", default=str(ROOT / "runs" / "spread"), help="where the perturbed runs go (default runs/spread)")
    ap.add_argument("--reuse", action="store_true", help="use the runs on disk as they are, whatever sources made them (after a "
                    "change that cannot move a chapter's numbers, such as the tolerance rule itself)")
    a = ap.parse_args()
    if a.runs < 3: ap.error("--runs must be at least 3")
    todo, out = stochastic_chapters(a.only), Path(a.dir)
    print(f"{len(todo)} chapters with stochastic metrics: {', '.join(nb.stem for nb in todo)}")
    for p in range(1, a.runs):
        if a.reuse: continue
        s = run_perturbed(p, todo, out, a.workers)
        print(f"MTIF_PERTURB={p}: " + (f"ran in {s:.0f} s" if s else "every chapter already run with these sources"), flush=True)
    spreads = []
    for nb in todo:
        for ref in chapter_summaries(REFERENCE, nb.stem):
            base = read_reference(ref)[["chapter", "metric", "task", "kind", "value", "se"]]
            spreads.append(measured_spread([base] + [read_summary(out / f"p{p}" / nb.stem / ref.name) for p in range(1, a.runs)]))
    for line in apply_spread(REFERENCE, pd.concat(spreads, ignore_index=True)): print(line)
    rows = []                                        # what the references now hold
    for ref in sorted(REFERENCE.glob("summary_*.csv")):
        st = read_reference(ref).query("kind == 'stochastic'")
        if st.empty: continue
        rows.append(dict(summary=ref.stem[len("summary_"):], stochastic=len(st), moved=int((st.spread > 0).sum()),
                         median_spread=st.spread.median(), dropped=int(np.isinf(st.atol.astype(float)).sum()),
                         at_floor=int((st.atol == STOCHASTIC_FLOOR).sum())))
    print(pd.DataFrame(rows).to_string(index=False))

if __name__ == "__main__":
    main()
