import os
# Two test workers share two cores: one thread each (inherited by the notebook kernels).
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
import torch
torch.set_num_threads(1)
# The notebooks run with nbs/ as their working directory: make a relative data root absolute first.
if os.environ.get("MTIF_DATA"):
    os.environ["MTIF_DATA"] = os.path.abspath(os.environ["MTIF_DATA"])

def pytest_collection_modifyitems(session, config, items):
    "The book's tests last: they show the chapters from the quick runs the notebook tests leave (tests/test_book.py)."
    items.sort(key=lambda it: it.nodeid.startswith("tests/test_book.py") or "/test_book.py::" in it.nodeid)
