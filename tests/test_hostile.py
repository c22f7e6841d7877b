"""Hostile but realistic inputs: each case below once returned a wrong number without an error or a warning (issue 13).
Every case must now raise an error or a warning that names its cause; none may return a number silently."""
import copy, inspect, json, re, subprocess, sys, warnings
import threading
from pathlib import Path
import numpy as np
import pytest
import torch
from mtif.checks import CacheRebuiltWarning, ConvergenceWarning, IllConditionedWarning, NotStationaryError
from mtif.data import MultitaskData, make_synthetic, binarize
from mtif.hessian import NotPositiveDefiniteError
from mtif.influence import data_influence, task_influence
from mtif.linear import MultitaskLogistic, MultitaskRidge
from mtif.nets import shared_bottom, train_mtl
from mtif.trak import ProjectedMTIF, featurize, make_featurizer

ROOT = Path(__file__).resolve().parent.parent
torch.set_num_threads(1)

@pytest.fixture(scope="module")
def syn():
    return make_synthetic(K=4, n=60, d=5, seed=0, device="cpu")

@pytest.fixture(scope="module")
def toy():
    "Four binary tasks of 8x8 images (a CNN shared bottom), labels 0/1."
    g = torch.Generator().manual_seed(0)
    sp = lambda n: [(torch.randint(0, 255, (n, 3 * 8 * 8), generator=g, dtype=torch.uint8), (torch.rand(n, generator=g) > .5).float()) for _ in range(4)]
    return MultitaskData(sp(24), sp(8), sp(8), meta=dict(image_shape=(3, 8, 8)))

@pytest.fixture(scope="module")
def trained(toy):
    m = shared_bottom(toy, hidden=16, channels=(4, 8), seed=0)
    train_mtl(m, toy, epochs=2, batch_size=8, device="cpu", progress=False)
    return m

def relabel(data, f):
    return MultitaskData([(X, f(y)) for X, y in data.train], data.val, data.test, meta=dict(data.meta))

# --- a model scored on data it was not fitted on
def test_other_draw_of_the_same_sizes(syn):
    other = make_synthetic(K=4, n=60, d=5, seed=1, device="cpu")
    assert other.sizes() == syn.sizes()
    with pytest.raises(ValueError, match="other contents"): task_influence(MultitaskRidge(.5).fit(syn), other)

def test_data_changed_in_place_after_the_fit(syn):
    data = MultitaskData([(X.clone(), y.clone()) for X, y in syn.train], syn.val, syn.test)
    m = MultitaskRidge(.5).fit(data)
    data.train[2][0][0, 0] += 1.0
    with pytest.raises(ValueError, match="other contents"): data_influence(m, data, 0)

def test_data_changed_through_a_numpy_view(syn):
    data = MultitaskData([(X.clone(), y.clone()) for X, y in syn.train], syn.val, syn.test)
    m = MultitaskRidge(.5).fit(data)
    data.train[1][1].numpy()[3] += 5.0                      # no version counter sees this: the stationarity check does
    m.stamp_ = type(m.stamp_)([t for pair in data.train for t in pair])
    with pytest.raises(NotStationaryError, match="relative gradient"): task_influence(m, data)

def test_model_fitted_with_sample_weights(syn):
    w = torch.rand(4, 20, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="fitted with sample weights"): task_influence(MultitaskRidge(.5).fit(syn, weights=w), syn)

# --- unconverged fits
def test_logistic_all_labels_one_is_not_converged(syn):
    ones = relabel(binarize(syn), torch.ones_like)
    with pytest.warns(ConvergenceWarning, match=r"relative gradient (9\.[0-9]+e-01|1\.[0-9]+e\+00)"): m = MultitaskLogistic(1.0).fit(ones)
    with pytest.raises(NotStationaryError): task_influence(m, ones)

def test_max_iter_zero(syn):
    with pytest.raises(ValueError, match="max_iter must be >= 1, got 0"): MultitaskRidge(1.0, max_iter=0)

def test_huge_lambda_warns_at_fit_and_at_scoring(syn):
    with pytest.warns(IllConditionedWarning, match="Schur complement N has condition number"): m = MultitaskRidge(1e50).fit(syn)
    assert m.theta.norm() < 1e-20                                   # the weights it warns about (the minimizer has norm 1.9)
    with pytest.warns(IllConditionedWarning, match="lose about 16 of float64's 16 digits"): task_influence(m, syn)

def test_lambda_1e16_blames_lambda_not_zero(syn):
    with pytest.raises(NotPositiveDefiniteError) as e: MultitaskRidge(1e16).fit(syn)
    assert "lam = 1e+16 is" in str(e.value) and "lam = 0" not in str(e.value) and "damping" not in str(e.value)

def test_exact_path_errors_suggest_only_its_own_remedies(syn):
    with pytest.raises(NotPositiveDefiniteError) as e: MultitaskRidge(0.0).fit(syn)
    assert "a larger lam" in str(e.value) and "damping" not in str(e.value).replace("never damps", "")

def test_ill_conditioned_solve_warns(syn):
    X0 = [X.clone() for X, _ in syn.train]
    g = torch.Generator().manual_seed(1)
    for X in X0: X[:, 1] = X[:, 0] + 1e-7 * torch.randn(len(X), generator=g, dtype=torch.float64)   # two nearly collinear features
    data = MultitaskData([(X, y) for X, (_, y) in zip(X0, syn.train)], syn.val, syn.test)
    with pytest.warns(IllConditionedWarning, match="condition number >= .* Remedies on the exact path"): m = MultitaskRidge(1.0).fit(data)
    with pytest.warns(IllConditionedWarning, match="condition number >= .* Remedies on the exact path"): task_influence(m, data)

# --- network path: labels, divergence, bad parameters
@pytest.mark.parametrize("f, found", [(lambda y: 2 * y, r"\[0.0, 2.0\]"), (lambda y: 2 * y - 1, r"\[-1.0, 1.0\]"),
                                      (lambda y: y * 0 + 0.5, r"\[0.5\]")], ids=["0-2", "pm1", "half"])
def test_network_labels_checked(toy, f, found):
    bad = relabel(toy, f)
    with pytest.raises(ValueError, match=r"train\[0\]: a 'binary' task needs labels 0 or 1, got values " + found):
        train_mtl(shared_bottom(bad, hidden=16, channels=(4, 8)), bad, epochs=1, device="cpu", progress=False)

def test_network_labels_checked_when_scoring(toy, trained):
    with pytest.raises(ValueError, match="a 'binary' task needs labels 0 or 1"): ProjectedMTIF(trained, relabel(toy, lambda y: 2 * y), progress=False)

def test_nan_training_loss_stops_at_once(toy):
    with pytest.raises(FloatingPointError, match=r"training loss of task \d is (nan|inf) at epoch 0, step \d"):
        train_mtl(shared_bottom(toy, hidden=16, channels=(4, 8)), toy, epochs=2, lr=1e30, batch_size=8, device="cpu", progress=False)

def test_inf_weight_refused(toy, trained):
    bad = copy.deepcopy(trained); bad.encoder[0].weight.data[0, 0, 0, 0] = float("inf")
    with pytest.raises(ValueError, match="parameter encoder.0.weight contains NaN or inf"): ProjectedMTIF(bad, toy, progress=False)

@pytest.mark.parametrize("proj_dim, msg", [(0, "proj_dim must be >= 1, got 0"), (-5, "proj_dim must be >= 1, got -5"),
                                           (1e9, "proj_dim must be an integer, got float")])
def test_proj_dim_refused(toy, trained, proj_dim, msg):
    with pytest.raises(ValueError, match=re.escape(msg)): ProjectedMTIF(trained, toy, proj_dim=proj_dim, progress=False)

def test_proj_dim_rounding_is_stated(toy, trained):
    pm = ProjectedMTIF(trained, toy, proj_dim=10 ** 9, progress=False)
    with pytest.warns(UserWarning, match=r"proj_dim 1000000000 for the shared block became [0-9]+ \(FactoredFeaturizer"): pm.featurizer(0)

# --- caches and stores
def test_store_built_for_another_draw_is_rebuilt(toy, trained, tmp_path):
    fz = make_featurizer(trained, m_shared=16)
    F1 = {k: v.clone() for k, v in featurize(fz, toy, "train", store=tmp_path, progress=False).items() if torch.is_tensor(v)}
    other = MultitaskData([(255 - X, y) for X, y in toy.train], toy.val, toy.test, meta=dict(toy.meta))
    with pytest.warns(CacheRebuiltWarning, match=r"built for other inputs \(differing: data\)"):
        F2 = featurize(fz, other, "train", store=tmp_path, progress=False)
    assert not torch.equal(F1["phi_shared"], F2["phi_shared"])

@pytest.mark.parametrize("name, cut, msg", [("phi_shared.npy", 64, "phi_shared.npy is .* bytes, expected"),
                                            ("done.npy", 1, "done.npy is .* bytes, expected"),
                                            ("meta.json", 5, "meta.json is unreadable")])
def test_truncated_store_file_is_rebuilt(toy, trained, tmp_path, name, cut, msg):
    fz = make_featurizer(trained, m_shared=16)
    ref = {k: v.clone() for k, v in featurize(fz, toy, "train", store=tmp_path, progress=False).items() if torch.is_tensor(v)}
    f = tmp_path / name; f.write_bytes(f.read_bytes()[:-cut])
    with pytest.warns(CacheRebuiltWarning, match=msg): F = featurize(fz, toy, "train", store=tmp_path, progress=False)
    assert all(torch.equal(ref[k], F[k]) for k in ("phi_head", "phi_shared", "Q"))     # rebuilt, not zero-filled

def test_truncated_image_cache_is_rebuilt_with_its_path(tmp_path):
    from PIL import Image
    from mtif.datasets import _decode_images
    paths = []
    for i in range(3):
        p = tmp_path / f"{i}.png"; Image.fromarray(np.full((10, 10, 3), 40 * i, np.uint8)).save(p); paths.append(p)
    a = _decode_images(paths, 4, False, tmp_path, "t", False)
    cf = next(tmp_path.glob("t_4px_*.pt")); cf.write_bytes(cf.read_bytes()[:-20])
    with pytest.warns(CacheRebuiltWarning, match=re.escape(str(cf))): b = _decode_images(paths, 4, False, tmp_path, "t", False)
    assert torch.equal(a, b)

# --- misleading messages and statements
def test_integer_target_of_any_type(syn):
    m = MultitaskRidge(.5).fit(syn)
    assert torch.equal(data_influence(m, syn, np.int64(1))[0], data_influence(m, syn, 1)[0])

def test_zero_features_named():
    X, y = torch.zeros(6, 0), torch.zeros(6)
    with pytest.raises(ValueError, match=r"train\[0\]: X has 0 feature\(s\)"): MultitaskData([(X, y)] * 2, [(X, y)] * 2, [(X, y)] * 2)

def test_damping_vocabulary_matches_the_code_and_running_md():
    from mtif.selection import NetLearner
    from mtif.trak import projected_solver, dense_gn_mtif
    from mtif.kernel import KernelMTIF, KERNEL_DEFAULTS
    from mtif.approx import LiSSASolver, PCGSolver, BlockDiagonalSolver
    from mtif.hessian import BlockSolver
    text = " ".join((ROOT / "RUNNING.md").read_text().split())           # the README points there for damping
    params = lambda f: inspect.signature(f).parameters
    default = lambda f, p: params(f)[p].default
    for f in (BlockSolver, BlockDiagonalSolver, PCGSolver, LiSSASolver, projected_solver, ProjectedMTIF, KernelMTIF, NetLearner,
              dense_gn_mtif):                                             # one vocabulary: no third name for damping
        names = {p for p in params(f) if "damp" in p or p == "rho"}
        assert names and names <= {"damping", "relative_damping", "rho"}, (f, names)
        assert "rho" not in names or f is dense_gn_mtif
    assert default(dense_gn_mtif, "rho") is None                         # kept only as the deprecated alias of damping
    assert "One damping vocabulary" in text and "`LiSSASolver(damping=)` meant the fraction of `scale`" in text
    assert default(NetLearner, "relative_damping") == 1.0 and KERNEL_DEFAULTS["relative_damping"] == 1.0
    assert "`NetLearner` and `network_influence`, use `relative_damping=1.0`" in text
    assert default(ProjectedMTIF, "damping") == 0 and default(ProjectedMTIF, "relative_damping") == 1.0      # chapter 27's study
    assert default(ProjectedMTIF, "hessian") == default(KernelMTIF, "hessian") == KERNEL_DEFAULTS["hessian"] == "gn"
    assert "`network_influence` the Gauss–Newton weighting `hessian=\"gn\"`" in text and "Pass `hessian=\"trak\", relative_damping=0` for the paper's formula" in text
    assert default(projected_solver, "damping") == 0 and default(projected_solver, "relative_damping") == 0 and "`projected_solver` is undamped" in text
    assert "damping" not in params(task_influence) and "The exact path never damps" in text
    assert "Nothing is damped unless you pass" not in text                  # the earlier, wrong statement stays gone

def test_attributors_share_one_method_shape():
    "MTIF, ProjectedMTIF and KernelMTIF: the constructor names the default split, every query method can override it."
    from mtif.kernel import KernelMTIF
    from mtif.influence import MTIF
    for cls in (MTIF, ProjectedMTIF, KernelMTIF):
        assert inspect.signature(cls).parameters["split"].default == "val", cls
        for meth in ("data_influence_all", "data_influence", "task_influence"):
            assert inspect.signature(getattr(cls, meth)).parameters["split"].default is None, (cls, meth)

def test_reproduce_prints_failed_not_stale(tmp_path):
    nbs, figs = tmp_path / "nbs", tmp_path / "figures"; nbs.mkdir(); figs.mkdir()
    nb = lambda src: json.dumps(dict(cells=[dict(cell_type="code", metadata={"tags": ["parameters"]}, source="quick = True\nfig_dir = None", outputs=[], execution_count=None),
                                            dict(cell_type="code", metadata={}, source=src, outputs=[], execution_count=None)],
                                     metadata={"kernelspec": {"name": "python3", "display_name": "python3", "language": "python"}}, nbformat=4, nbformat_minor=5))
    (nbs / "05_bad.ipynb").write_text(nb("raise RuntimeError('boom')"))
    (nbs / "06_bad.ipynb").write_text(nb("1 / 0"))
    from mtif.results import record
    record(figs, "05_bad", [dict(metric="LOTO Spearman", value=0.987654)])             # an earlier run's number
    r = subprocess.run([sys.executable, "-m", "mtif.cli", "reproduce", "--nbs", str(nbs), "--figures", str(figs), "--out", str(tmp_path / "out")],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)                          # the number of failed chapters
    assert r.stdout.count("FAILED (PapermillExecutionError; see stderr)") == 2 and "0.988" not in r.stdout, r.stdout
    assert "FAILED: 2 chapter(s): 05_bad, 06_bad" in r.stdout

# ======================================================================================================================
# Issue 37: the hostile-input and fault audit. One test (at least) per item; each returned silently wrong output, lost
# data or gave an unclear error before.
# ======================================================================================================================
import os, signal, time, hashlib, shutil
import pandas as pd
from mtif.approx import GLMCurvature, LiSSASolver, PCGSolver, BlockDiagonalSolver
from mtif.hessian import BlockSolver, BlockHessian
from mtif.influence import data_influence_all
from mtif.nets import cold_start_loto, evaluate, train_and_record
from mtif.selection import harm_scores, drop_points, select_data, LinearLearner
from mtif.jobs import run_cells
from mtif.trak import sparsify, FeatureStore

def _tree_hash(*roots) -> dict:
    "SHA-256 of every file under the roots (what a fault must leave byte-identical)."
    out = {}
    for root in roots:
        root = Path(root)
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for p in files: out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out

# --- 1. LOTO records keyed by their run
def test_37_1_loto_records_of_another_run_refused(toy, tmp_path):
    kw = dict(epochs=2, lr=1e-2, seed=4, batch_size=8, device="cpu", progress=False)
    init = shared_bottom(toy, hidden=16, channels=(4, 8), seed=3)
    D = cold_start_loto(init, toy, checkpoint_dir=tmp_path, **kw)
    assert torch.equal(cold_start_loto(init, toy, checkpoint_dir=tmp_path, **kw).nan_to_num(), D.nan_to_num())   # the same run reads them
    for other in (dict(kw, lr=2e-2), dict(kw, seed=5)):
        with pytest.raises((ValueError, RuntimeError), match="holds the records of another run"): cold_start_loto(init, toy, checkpoint_dir=tmp_path, **other)
    with pytest.raises((ValueError, RuntimeError), match="holds the records of another run"):
        cold_start_loto(shared_bottom(toy, hidden=16, channels=(4, 8), seed=9), toy, checkpoint_dir=tmp_path, **kw)

# --- 2. LiSSA: growth and non-convergence
def test_37_2_lissa_too_small_a_scale_and_too_shallow(syn):
    m = MultitaskRidge(0.3).fit(syn); cv = GLMCurvature(m, syn)
    lmax = torch.linalg.eigvalsh(cv.full().dense())[-1].item()
    v = torch.randn(syn.K, cv.p, generator=torch.Generator().manual_seed(0), dtype=torch.float64), torch.zeros(cv.q, dtype=torch.float64)
    with pytest.raises(FloatingPointError, match="outgrew"): LiSSASolver(m, syn, depth=1000, batch_size=cv.N, scale=0.4 * lmax).solve(*v)
    with pytest.warns(ConvergenceWarning, match="LiSSA stopped at depth 1 with relative residual"): LiSSASolver(m, syn, depth=1, batch_size=cv.N).solve(*v)

# --- 3. a solver built for another model or data
def test_37_3_solver_of_another_fit_refused(syn):
    other = make_synthetic(K=4, n=60, d=5, seed=7, device="cpu")
    m, mo = MultitaskRidge(.5).fit(syn), MultitaskRidge(.5).fit(other)
    Ho = GLMCurvature(mo, other).full()
    for S in (BlockSolver(Ho), PCGSolver(Ho, warn=False), LiSSASolver(mo, other, depth=3, batch_size=20, warn=False)):
        with pytest.raises(ValueError, match="was built for another model or data"): data_influence_all(m, syn, solver=S)

# --- 4. same-size corruption of a store or an image cache
@pytest.mark.parametrize("how", ["random bytes", "nan row", "zeroed"])
def test_37_4_store_same_size_corruption_is_caught(toy, trained, tmp_path, how):
    fz = make_featurizer(trained, m_shared=16)
    ref = {k: v.clone() for k, v in featurize(fz, toy, "train", store=tmp_path, progress=False, batch_size=8).items() if torch.is_tensor(v)}
    a = np.lib.format.open_memmap(tmp_path / "phi_shared.npy", "r+")
    if how == "random bytes": a[2, 3:5] = np.frombuffer(np.random.default_rng(0).bytes(a[2, 3:5].nbytes), np.float32).reshape(a[2, 3:5].shape)
    elif how == "nan row": a[1, 0] = np.nan
    else: a[:] = 0
    a.flush(); del a
    with pytest.warns(CacheRebuiltWarning, match="no longer match their checksum"): F = featurize(fz, toy, "train", store=tmp_path, progress=False, batch_size=8)
    assert all(torch.equal(ref[k], F[k]) for k in ("phi_head", "phi_shared", "Q"))

def test_37_4_image_cache_same_size_corruption_is_caught(tmp_path):
    from PIL import Image
    from mtif.datasets import _decode_images
    paths = []
    for i in range(3):
        p = tmp_path / f"{i}.png"; Image.fromarray(np.full((10, 10, 3), 40 * i + 20, np.uint8)).save(p); paths.append(p)
    a = _decode_images(paths, 4, False, tmp_path, "t", False)
    cf = next(tmp_path.glob("t_4px_*.pt")); raw = bytearray(cf.read_bytes())
    i = raw.find(bytes(a[2].flatten().tolist())); assert i > 0                     # the pixels of image 2 in the file
    raw[i:i + 48] = bytes(48); cf.write_bytes(bytes(raw))                           # zeroed, same size
    with pytest.warns(CacheRebuiltWarning, match="do not match their checksum"): b = _decode_images(paths, 4, False, tmp_path, "t", False)
    assert torch.equal(a, b)

# --- 5. two processes featurizing into one store, one killed
_FEATURIZE = """
import sys, torch
from mtif.data import MultitaskData
from mtif.nets import shared_bottom
from mtif.trak import featurize, make_featurizer
g = torch.Generator().manual_seed(0)
sp = lambda n: [(torch.randint(0, 255, (n, 3 * 8 * 8), generator=g, dtype=torch.uint8), (torch.rand(n, generator=g) > .5).float()) for _ in range(4)]
data = MultitaskData(sp(600), sp(8), sp(8), meta=dict(image_shape=(3, 8, 8)))
fz = make_featurizer(shared_bottom(data, hidden=16, channels=(4, 8), seed=0), m_shared=16)
F = featurize(fz, data, "train", batch_size=1, store=sys.argv[1], progress=False)
if len(sys.argv) > 2: torch.save({k: v.clone() for k, v in F.items() if torch.is_tensor(v)}, sys.argv[2])
"""

def test_37_5_concurrent_featurizers_and_a_killed_one(tmp_path):
    """A second featurizer started on a store another process is writing waits for it (one writer at a time: two used to
    interleave, leaving done.npy claiming every batch over rows of zeros); the first is killed, the second then finishes,
    a third reads: every one's features are the in-memory ones."""
    script = tmp_path / "f.py"; script.write_text(_FEATURIZE); store = tmp_path / "store"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    a = subprocess.Popen([sys.executable, str(script), str(store)], env=env)
    t0 = time.time()
    while time.time() - t0 < 60:                                   # some batches done, most not
        d = store / "done.npy"
        if d.exists() and np.load(d).sum() >= 20: break
        time.sleep(0.05)
    b = subprocess.Popen([sys.executable, str(script), str(store), str(tmp_path / "b.pt")], env=env, stderr=subprocess.PIPE, text=True)
    lines = []                                                     # b's stderr as it comes (a thread: reading blocks)
    reader = threading.Thread(target=lambda: lines.extend(b.stderr), daemon=True); reader.start()
    t0 = time.time()                                               # kill a only once b is waiting for it: a fixed sleep was
    while not any("is in use by another process: waiting for it" in l for l in lines):   # too short for b's start under load
        assert a.poll() is None, "the first featurizer finished before the second waited for it: make it slower"
        assert b.poll() is None and time.time() - t0 < 120, "".join(lines)
        time.sleep(0.05)
    a.kill(); a.wait()
    b.wait(timeout=300); reader.join(timeout=60)
    err = "".join(lines)
    assert b.returncode == 0, err
    c = subprocess.run([sys.executable, str(script), str(store), str(tmp_path / "c.pt")], env=env, capture_output=True, text=True, timeout=300)
    assert c.returncode == 0, c.stderr
    ref = {}
    exec(_FEATURIZE.replace("store=sys.argv[1]", "store=None").replace("if len(sys.argv) > 2:", "if False:"), ref)
    for x in "bc":
        got = torch.load(tmp_path / f"{x}.pt")
        assert all(torch.equal(got[k], ref["F"][k]) for k in ("phi_head", "phi_shared", "Q")), x
    assert np.load(store / "done.npy").all()

def test_37_18_read_only_complete_store_is_read(toy, trained, tmp_path, monkeypatch):
    import mtif.trak
    fz = make_featurizer(trained, m_shared=16); st = tmp_path / "s"
    ref = featurize(fz, toy, "train", store=st, progress=False)["phi_shared"].clone()
    os.chmod(st, 0o555)
    if os.access(st, os.W_OK):                      # root can write anyway: the store is told it cannot
        real = os.access
        monkeypatch.setattr(mtif.trak.os, "access", lambda p, mode: False if mode == os.W_OK and Path(p) == st else real(p, mode))
    try:
        assert torch.equal(featurize(fz, toy, "train", store=st, progress=False)["phi_shared"], ref)
        with pytest.raises(ValueError, match="is read-only and it was built for other inputs"):
            featurize(make_featurizer(trained, m_shared=8), toy, "train", store=st, progress=False)
    finally: os.chmod(st, 0o755)

# --- 6. a network scored on data it was not trained on
def test_37_6_projected_mtif_on_other_data_refused(toy, trained):
    flipped = relabel(toy, lambda y: 1 - y)
    with pytest.raises(ValueError, match="model 0 was trained on other data"): ProjectedMTIF(trained, flipped, progress=False)
    g = torch.Generator().manual_seed(5)
    draw = MultitaskData([(torch.randint(0, 255, X.shape, generator=g, dtype=torch.uint8), y) for X, y in toy.train], toy.val, toy.test, meta=dict(toy.meta))
    with pytest.raises(ValueError, match="model 0 was trained on other data"): ProjectedMTIF(trained, draw, progress=False)

# --- 7. uint8 images through .to(dtype)
def test_37_7_to_float_keeps_pixels(toy, trained):
    t32 = toy.to(dtype=torch.float32)
    assert t32.train[0][0].dtype == torch.uint8
    assert torch.equal(evaluate(trained, t32)["loss"], evaluate(trained, toy)["loss"])

# --- 8. parameters that returned wrong numbers
def test_37_8_bad_parameters_refused(toy, trained, syn):
    with pytest.raises(ValueError, match="batch_size must be >= 1, got -1"): ProjectedMTIF(trained, toy, batch_size=-1, progress=False)
    D = torch.randn(4, 4, 20, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"targets\[0\] must be an integer, got float"): harm_scores(D, [1.5])
    with pytest.raises(ValueError, match="remove must be a boolean mask, got dtype torch.int64"): drop_points(syn, torch.zeros(4, 20, dtype=torch.long))
    with pytest.raises(ValueError, match="torch.uint8"): drop_points(syn, torch.zeros(4, 20, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"scores must be a tensor of shape \(K, n_max\) = \(4, 20\)"):
        select_data(LinearLearner(MultitaskRidge, 0.5), syn, scores=torch.randn(20), controls=(), progress=False)
    with pytest.raises(ValueError, match="threshold must be >= 0"): sparsify(D, threshold=-1.0)
    with pytest.raises(ValueError, match="topk must be >= 1, got -1"): sparsify(D, topk=-1)
    with pytest.raises(ValueError, match="step_gamma must be > 0"):
        train_mtl(shared_bottom(toy, hidden=16, channels=(4, 8)), toy, epochs=1, step_gamma=-1, device="cpu", progress=False)
    with pytest.raises(FloatingPointError, match="training (loss is|diverged)|training loss of task"):
        train_mtl(shared_bottom(toy, hidden=16, channels=(4, 8)), toy, epochs=3, lr=1e6, batch_size=8, device="cpu", progress=False)
    m = MultitaskRidge(.5).fit(syn)
    with pytest.raises(ValueError, match="task must be a task index in \\[0, 4\\), got -1"): m.predict(syn.val[0][0], -1)
    Xn = syn.val[0][0].clone(); Xn[0, 0] = float("nan")
    with pytest.raises(ValueError, match="X contains NaN"): m.predict(Xn, 0)

def test_37_8_nan_written_into_validation_after_construction(toy, trained):
    bad = MultitaskData([(X.float(), y) for X, y in toy.train], [(X.float(), y) for X, y in toy.val], toy.test, meta=dict(toy.meta))
    bad.val[1][0][2, 5] = float("nan")
    with pytest.raises(ValueError, match=r"val\[1\]: X contains NaN or inf \(1 entries\), written after"): evaluate(trained, bad)

# --- 9. references and results files
def test_37_9_nan_not_accepted_into_a_reference(tmp_path):
    from mtif.results import record
    from mtif.reference import accept_reference
    s = record(tmp_path, "05_x", [dict(metric="rho", value=0.5)]); accept_reference(s, tmp_path / "ref")
    with pytest.raises(ValueError, match="would accept non-finite values"): accept_reference(record(tmp_path, "05_x", [dict(metric="rho", value=float("nan"))]), tmp_path / "ref")
    accept_reference(record(tmp_path, "05_x", [dict(metric="rho", value=float("nan"))]), tmp_path / "ref", allow_nonfinite=True)

def test_37_9_hand_raised_tolerance_refused(tmp_path):
    from mtif.reference import read_reference
    ref = tmp_path / "ref"; shutil.copytree(ROOT / "tests" / "reference", ref)
    f = ref / "summary_16_selection_synthetic.csv"
    read_reference(f)
    f.write_text(f.read_text().replace(",1e-08,", ",0.5,", 1))
    with pytest.raises(ValueError, match="was changed outside `mtif reproduce --quick --accept`"): read_reference(f)

@pytest.mark.parametrize("damage", ["truncated", "non-numeric", "duplicated"])
def test_37_9_run_cells_damaged_rows_run_again(tmp_path, damage):
    from mtif.checks import CacheRebuiltWarning
    calls = []
    def cell(seed): calls.append(seed); return [dict(acc=0.5 + seed / 10, loss=1.0 / (seed + 1))]
    p = tmp_path / "runs.csv"; cells = [dict(seed=s) for s in range(4)]
    ref = run_cells(cells, cell, p, progress=False)
    lines = p.read_text().splitlines()
    if damage == "truncated": lines[2] = lines[2][:-12]
    elif damage == "non-numeric": lines[2] = lines[2].replace("0.6", "abc", 1)
    else: lines.insert(2, lines[2])
    p.write_text("\n".join(lines) + "\n"); calls.clear()
    with pytest.warns(CacheRebuiltWarning, match="fail their checksum or are duplicated"): out = run_cells(cells, cell, p, progress=False)
    assert calls == [1]
    pd.testing.assert_frame_equal(out.sort_values("seed").reset_index(drop=True), ref.sort_values("seed").reset_index(drop=True))

# --- 10. data files checked against the published SHA256SUMS
def _fake_celeba(root: Path, n: int = 6):
    from PIL import Image
    base = root / "celeba"; (base / "img_align_celeba").mkdir(parents=True)
    names = [f"{i:06d}.jpg" for i in range(1, n + 1)]
    for i, nm in enumerate(names): Image.fromarray(np.full((20, 16, 3), 30 * i, np.uint8)).save(base / "img_align_celeba" / nm)
    attrs = " ".join(f"A{j}" for j in range(40))
    rows = [f"{nm} " + " ".join("1" if (i + j) % 2 else "-1" for j in range(40)) for i, nm in enumerate(names)]
    (base / "list_attr_celeba.txt").write_text(f"{n}\n{attrs}\n" + "\n".join(rows) + "\n")
    files = ["list_attr_celeba.txt"] + [f"img_align_celeba/{nm}" for nm in names]
    (base / "SHA256SUMS").write_text("".join(f"{hashlib.sha256((base / f).read_bytes()).hexdigest()}  {f}\n" for f in files))
    return base, names

def test_37_10_replaced_image_and_path_outside_refused(tmp_path):
    from PIL import Image
    from mtif.datasets import load_celeba
    base, names = _fake_celeba(tmp_path)
    load_celeba(root=tmp_path, tasks=["A1"], size=8, cache=tmp_path / "c1", progress=False, identity_disjoint=False)
    Image.fromarray(np.zeros((20, 16, 3), np.uint8)).save(base / "img_align_celeba" / names[2])      # a black one in its place
    with pytest.raises(ValueError, match=f"{names[2]} is not the published file"):
        load_celeba(root=tmp_path, tasks=["A1"], size=8, cache=tmp_path / "c2", progress=False, identity_disjoint=False)
    t = (base / "list_attr_celeba.txt").read_text().replace(names[0], "../../../outside.jpg")
    (base / "list_attr_celeba.txt").write_text(t)
    with pytest.raises(ValueError, match="list_attr_celeba.txt is not the published file"):
        load_celeba(root=tmp_path, tasks=["A1"], size=8, cache=tmp_path / "c3", progress=False, identity_disjoint=False)
    (base / "SHA256SUMS").unlink()                                         # a user's own copy: no sums, still no path outside
    with pytest.raises(ValueError, match="is not a file name in img_align_celeba/"):
        load_celeba(root=tmp_path, tasks=["A1"], size=8, cache=tmp_path / "c4", progress=False, identity_disjoint=False)

def test_verify_files_returns_digests_and_hapt_is_read_once(tmp_path, monkeypatch):
    "verify_files hands back the digests it checked, so reconstruct_har keys its cache without hashing the recordings again."
    import mtif.datasets as ds
    from mtif.checks import file_sha256
    base, names = _fake_celeba(tmp_path)
    files = [base / "list_attr_celeba.txt", base / "img_align_celeba" / names[0]]
    got = ds.verify_files(base, files, "fake")
    assert got == {str(f): hashlib.sha256(f.read_bytes()).hexdigest() for f in files}
    (base / "SHA256SUMS").unlink()
    assert ds.verify_files(base, files, "fake") is None                    # a user's own copy: not checked, nothing returned
    hapt = tmp_path / "hapt"; hapt.mkdir(); raw = hapt / "hapt_raw.npz"; raw.write_bytes(b"not an npz" * 1000)
    calls = []
    monkeypatch.setattr(ds, "file_sha256", lambda f: calls.append(str(f)) or file_sha256(f))
    for with_sums in (True, False):
        if with_sums: (hapt / "SHA256SUMS").write_text(f"{file_sha256(raw)}  hapt_raw.npz\n")
        else: (hapt / "SHA256SUMS").unlink()
        calls.clear()
        with pytest.raises(Exception):                                     # garbage is refused by np.load, after the hash
            ds.reconstruct_har(root=tmp_path, cache=tmp_path / "cache")
        assert calls == [str(raw.resolve()) if with_sums else str(raw)], calls

# --- 11-16. the command line: nothing lost, clear errors
def _cli(*args, cwd=None, **kw):
    return subprocess.run([sys.executable, "-m", "mtif.cli", *map(str, args)], capture_output=True, text=True, cwd=cwd, **kw)

def _mini_checkout(tmp_path, chapter_src: str, stem="16_mini"):
    "A checkout in miniature: nbs/ with one chapter, figures/ with its committed summary and CSV, a README with results."
    nbs, figs = tmp_path / "nbs", tmp_path / "figures"; nbs.mkdir(); figs.mkdir()
    nb = dict(cells=[dict(cell_type="code", metadata={"tags": ["parameters"]}, source="quick = True\nfig_dir = None\nseeds = 3", outputs=[], execution_count=None),
                     dict(cell_type="code", metadata={}, source=chapter_src, outputs=[], execution_count=None)],
              metadata={"kernelspec": {"name": "python3", "display_name": "python3", "language": "python"}}, nbformat=4, nbformat_minor=5)
    (nbs / f"{stem}.ipynb").write_text(json.dumps(nb))
    from mtif.results import record
    record(figs, stem, [dict(metric="rho", value=0.75)])
    (figs / "table_runs.csv").write_text("seed,value\n0,1.0\n1,2.0\n")
    (tmp_path / "README.md").write_text("# mini\n<!-- results:start (generated by `mtif report` from figures/summary_*.csv; do not edit) -->\nold\n<!-- results:end -->\n")
    return nbs, figs

_WRITES_THEN = """
import time
from pathlib import Path
from mtif.results import record
out = Path(fig_dir)
(out / "table_runs.csv").write_text("seed,value\\n")                    # emptied first, as chapter 16 did
record(out, "16_mini", [dict(metric="rho", value=0.1 * seeds)])
{then}
"""

def test_37_11_report_on_an_empty_or_missing_folder_writes_nothing(tmp_path):
    nbs, figs = _mini_checkout(tmp_path, "pass")
    empty = tmp_path / "empty"; empty.mkdir()
    before = _tree_hash(tmp_path / "README.md")
    r = _cli("report", "--figures", empty, "--readme", tmp_path / "README.md")
    assert r.returncode == 2 and "holds no summary_*.csv" in r.stderr, r.stderr
    r = _cli("report", "--figures", tmp_path / "missing", "--readme", tmp_path / "README.md")
    assert r.returncode == 2 and "does not exist" in r.stderr, r.stderr
    assert _tree_hash(tmp_path / "README.md") == before and not (empty / "REPORT.md").exists()

def test_37_12_failing_chapter_leaves_figures_byte_identical(tmp_path):
    nbs, figs = _mini_checkout(tmp_path, _WRITES_THEN.format(then="if seeds == 0: raise ValueError('no seeds')"))
    assert _cli("report", "--figures", figs, "--readme", tmp_path / "README.md").returncode == 0
    before = _tree_hash(figs, tmp_path / "README.md")
    r = _cli("reproduce", "--nbs", nbs, "--figures", figs, "-p", "seeds", "0")
    assert r.returncode == 1 and "are unchanged" in r.stderr, (r.stdout, r.stderr)
    after = {k: v for k, v in _tree_hash(figs, tmp_path / "README.md").items() if "/.staging/" not in k}
    assert after == before                                                    # the committed CSV is not emptied
    assert _cli("report", "--figures", figs, "--readme", tmp_path / "README.md", "--check").returncode == 0   # and truly current
    r = _cli("reproduce", "--nbs", nbs, "--figures", figs, "-p", "seeds", "2")  # the next run succeeds and commits
    assert r.returncode == 0, r.stderr
    assert "0.2" in (figs / "summary_16_mini.csv").read_text() and (figs / "table_runs.csv").read_text() == "seed,value\n"
    assert not (figs / ".staging" / "16_mini").exists()

@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_37_12_interrupted_chapter_leaves_figures_byte_identical(tmp_path, sig):
    nbs, figs = _mini_checkout(tmp_path, _WRITES_THEN.format(then="(out / 'wrote').touch(); time.sleep(20)"))
    before = _tree_hash(figs, tmp_path / "README.md")
    p = subprocess.Popen([sys.executable, "-m", "mtif.cli", "reproduce", "--nbs", str(nbs), "--figures", str(figs)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = time.time()
    while not (figs / ".staging" / "16_mini" / "figures" / "wrote").exists():
        assert time.time() - t0 < 120 and p.poll() is None, p.communicate()
        time.sleep(0.1)
    p.send_signal(sig); p.communicate(timeout=60)
    after = {k: v for k, v in _tree_hash(figs, tmp_path / "README.md").items() if "/.staging/" not in k}
    assert after == before

def test_37_13_two_writers_of_one_results_file(tmp_path):
    script = tmp_path / "w.py"
    script.write_text("import sys, time\nfrom mtif.jobs import run_cells\n"
                      "def cell(seed): time.sleep(0.05); return [dict(value=seed * 10)]\n"
                      "run_cells([dict(seed=s) for s in range(int(sys.argv[2]), 24, 2)], cell, sys.argv[1], progress=False)\n")
    p = tmp_path / "runs.csv"
    procs = [subprocess.Popen([sys.executable, str(script), str(p), str(o)]) for o in (0, 1)]
    assert all(q.wait(timeout=300) == 0 for q in procs)
    from mtif.jobs import _read_rows
    rows = _read_rows(p, ["seed"])
    assert sorted(rows.seed) == list(range(24)) and (rows.value == rows.seed * 10).all()

def test_37_14_output_folder_holding_the_sources_refused(tmp_path):
    nbs, figs = _mini_checkout(tmp_path, "pass")
    before = _tree_hash(nbs)
    r = _cli("reproduce", "--quick", "--nbs", nbs, "--out", nbs, "--figures", tmp_path / "q")
    assert r.returncode == 2 and "holds the chapters' source notebooks" in r.stderr, r.stderr
    assert _tree_hash(nbs) == before

def test_37_15_corrupt_files_named(tmp_path, toy):
    from mtif.results import read_summary
    from mtif.reference import read_reference
    f = tmp_path / "summary_05_x.csv"; f.write_bytes(b"\x00\x01garbage,\n\xff")
    with pytest.raises(ValueError, match="summary_05_x.csv"): read_summary(f)
    with pytest.raises(ValueError, match="summary_05_x.csv"): read_reference(f)
    ck = tmp_path / "run.pt"; ck.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match=f"{ck} is not a readable checkpoint"):
        train_mtl(shared_bottom(toy, hidden=16, channels=(4, 8)), toy, epochs=1, checkpoint=ck, device="cpu", progress=False)
    rec = tmp_path / "r.records"; rec.write_bytes(b"junk")
    with pytest.raises(ValueError, match=f"{rec} is not a readable records file"):
        train_and_record(shared_bottom(toy, hidden=16, channels=(4, 8)), toy, [1], records=rec, epochs=1, device="cpu")

def test_37_15_unreadable_summary_fails_its_chapter_only(tmp_path):
    nbs = tmp_path / "nbs"; nbs.mkdir()
    mk = lambda src: json.dumps(dict(cells=[dict(cell_type="code", metadata={"tags": ["parameters"]}, source="quick = True\nfig_dir = None", outputs=[], execution_count=None),
                                            dict(cell_type="code", metadata={}, source=src, outputs=[], execution_count=None)],
                                     metadata={"kernelspec": {"name": "python3", "display_name": "python3", "language": "python"}}, nbformat=4, nbformat_minor=5))
    (nbs / "05_bad.ipynb").write_text(mk("from pathlib import Path\n(Path(fig_dir) / 'summary_05_bad.csv').write_bytes(b'\\xff\\x00,,\\n')"))
    (nbs / "06_ok.ipynb").write_text(mk("from mtif.results import record\nrecord(fig_dir, '06_ok', [dict(metric='rho', value=0.5)])"))
    r = _cli("reproduce", "--nbs", nbs, "--figures", tmp_path / "f", "--out", tmp_path / "o")
    assert r.returncode == 1 and "05_bad FAILED" in r.stderr and "summary_05_bad.csv" in r.stderr, (r.stdout, r.stderr)
    assert "0.5" in r.stdout

def test_37_16_cli_arguments(tmp_path):
    nbs, figs = _mini_checkout(tmp_path, "pass")
    for args, msg in ((["-p", "seeds", "[1, 2"], "-p seeds '[1, 2': not a YAML value"), (["--only", ""], "--only needs chapter numbers or names"),
                      (["--only", "1"], "chapter numbers have two digits"), (["--only", "0"], "chapter numbers have two digits")):
        r = _cli("reproduce", "--nbs", nbs, "--figures", figs, *args)
        assert r.returncode == 2 and msg in r.stderr and "Traceback" not in r.stderr, (args, r.stderr)

# --- 17. a Dask worker that dies
def _kill_my_worker(x):
    os.kill(os.getpid(), signal.SIGKILL)

def test_37_17_worker_death_is_named():
    from mtif.jobs import map_jobs
    with pytest.raises(RuntimeError, match="the worker process running it died"):
        map_jobs(_kill_my_worker, [dict(x=1)], workers=1, progress=False, retries=1)

# --- 18. messages that named the wrong parameter or none
def test_37_18_messages_name_the_parameter(syn, toy, trained):
    from mtif.trak import projected_solver
    F = ProjectedMTIF(trained, toy, progress=False).features(0, "train")
    with pytest.raises(ValueError, match="relative_damping must be >= 0"): projected_solver(F, relative_damping=-1.0)
    with pytest.raises(ValueError, match="relative_damping must be >= 0"): ProjectedMTIF(trained, toy, relative_damping=-1.0, progress=False)
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"): featurize(make_featurizer(trained, m_shared=8), toy, "train", batch_size=0, progress=False)
    with pytest.raises(ValueError, match="lam must be a number or one number per task, got str '0.5'"): MultitaskRidge(lam="0.5")
    lin = LinearLearner(MultitaskRidge, 0.5)
    for frac in ({0.1, 0.2}, torch.tensor([0.1], dtype=torch.float64)):                        # a set or a tensor of fractions works
        assert select_data(lin, syn, fraction=frac, controls=(), progress=False).fraction in (0.1, 0.2)
    H = GLMCurvature(MultitaskRidge(.5).fit(syn), syn).full()
    with pytest.raises(NotPositiveDefiniteError, match="not positive definite"):
        PCGSolver(BlockHessian(H.A, 30 * H.B, H.C), max_iter=50).solve(torch.ones(syn.K, H.p, dtype=torch.float64), torch.ones(H.q, dtype=torch.float64))
    m = MultitaskRidge(.5).fit(syn, tasks=np.array([0, 1, 2]))
    assert m.active_.tolist() == [1, 1, 1, 0]
    D = cold_start_loto(shared_bottom(toy, hidden=16, channels=(4, 8)), toy, sources=[np.int64(1)], epochs=1, device="cpu", progress=False)
    assert torch.isfinite(D[0, [0, 2, 3], 1]).all()
    f32 = syn.to(dtype=torch.float32)
    with pytest.raises(ValueError, match="in torch.float32 but the model was fitted on torch.float64"): task_influence(MultitaskRidge(.5).fit(syn), f32)

def test_37_12_failing_chapter_under_accept_leaves_the_references_byte_identical(tmp_path):
    nbs, figs = _mini_checkout(tmp_path, _WRITES_THEN.format(then="if quick: raise ValueError('broken')"))
    ref = tmp_path / "reference"; shutil.copytree(ROOT / "tests" / "reference", ref)
    before = _tree_hash(ref)
    r = _cli("reproduce", "--quick", "--accept", "--nbs", nbs, "--reference", ref, "--figures", tmp_path / "q", "--out", tmp_path / "o")
    assert r.returncode == 1 and "16_mini FAILED" in r.stderr, (r.stdout, r.stderr)
    assert _tree_hash(ref) == before

def test_37_13_two_full_runs_of_one_chapter_at_once(tmp_path):
    "Two concurrent full runs of one chapter: the second waits for the first (a lock), both succeed, figures/ is one of theirs."
    nbs, figs = _mini_checkout(tmp_path, _WRITES_THEN.format(then="time.sleep(3)"))
    procs = [subprocess.Popen([sys.executable, "-m", "mtif.cli", "reproduce", "--nbs", str(nbs), "--figures", str(figs), "-p", "seeds", str(s)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for s in (4, 5)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert sum("is in use by another process: waiting for it" in e for _, e in outs) == 1, outs
    v = pd.read_csv(figs / "summary_16_mini.csv").value.item()
    assert round(v, 9) in (0.4, 0.5) and (figs / "table_runs.csv").read_text() == "seed,value\n"
    assert not (figs / ".staging" / "16_mini").exists()
