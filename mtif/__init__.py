__version__ = "0.1.0"
# The package's face: `from mtif import MTIF, ProjectedMTIF, select_data, ...`. This file is nbdev's hand-kept package
# file (it keeps only the version line up to date). Each name is imported from its chapter's module when first used,
# so `import mtif` (and the `mtif` command) does not load torch.
_API = {"MultitaskData": "data", "make_synthetic": "data",                                     # 00
        "BlockSolver": "hessian",                                                              # 01
        "MultitaskRidge": "linear", "MultitaskLogistic": "linear", "select_lambda": "linear",  # 02
        "MTIF": "influence", "data_influence": "influence", "task_influence": "influence",     # 03
        "loo": "retrain", "loto": "retrain",                                                   # 04
        "load_celeba": "datasets", "load_har": "datasets",                                     # 06
        "shared_bottom": "nets", "train_mtl": "nets",                                          # 08
        "ProjectedMTIF": "trak",                                                               # 09
        "TaskAffinity": "baselines",                                                           # 11
        "select_data": "selection", "LinearLearner": "selection", "NetLearner": "selection",   # 15
        "KernelMTIF": "kernel"}                                                                # 26
__all__ = ["__version__", *_API]

def __getattr__(name):
    if name in _API:
        import importlib
        return getattr(importlib.import_module(f"{__name__}.{_API[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

def __dir__(): return sorted([*globals(), *_API])
