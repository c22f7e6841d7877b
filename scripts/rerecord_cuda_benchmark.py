"""Rewrite figures/summary_90_benchmarks_cuda.csv in the numeric format of mtif.results.record, from the raw CSVs that
chapter 90's GPU run committed (figures/benchmark_featurization_cuda.csv, figures/benchmark_agreement_cuda.csv), with
the same rows the chapter's record cell writes. Needed once, because that run (NVIDIA H100 80GB HBM3, an earlier
session) predates the numeric summaries and no GPU was lent to the session that changed the format; the next GPU run of
chapter 90 overwrites it.

    python scripts/rerecord_cuda_benchmark.py
"""
from pathlib import Path
import sys
import pandas as pd
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from mtif.results import record, show

figs = ROOT / "figures"
bench = pd.read_csv(figs / "benchmark_featurization_cuda.csv")
agree = pd.read_csv(figs / "benchmark_agreement_cuda.csv")
DEVICE_NAME = bench.device.iloc[0]
fast = bench.set_index("method").samples_per_s
speedup = fast["mtif factored"] / fast["traker 0.3.2 (BasicProjector)"]
print(show(record(figs, "90_benchmarks_cuda", [
    dict(metric="featurization samples/s, ours (factored), m=512", value=fast["mtif factored"], kind="timing", note=DEVICE_NAME),
    dict(metric="featurization samples/s, traker 0.3.2, m=512", value=fast["traker 0.3.2 (BasicProjector)"], kind="timing", note=DEVICE_NAME),
    dict(metric="featurization speed-up, ours (factored) / traker", value=speedup, kind="timing", note=DEVICE_NAME),
    dict(metric="Spearman of scores, ours dense vs traker", value=agree.spearman.iloc[0], kind="network", note=DEVICE_NAME),
    dict(metric="Spearman of scores, ours dense vs ours with another projection seed", value=agree.spearman.iloc[2], kind="network",
         note=DEVICE_NAME)])).to_string(index=False))
