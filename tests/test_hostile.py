"""Hostile but realistic inputs: each case below once returned a wrong number without an error or a warning (issue 13).
Every case must now raise an error or a warning that names its cause; none may return a number silently."""
import copy, inspect, json, re, subprocess, sys, warnings
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

def test_readme_damping_statement_matches_the_code():
    from mtif.selection import NetLearner
    from mtif.trak import projected_solver
    text = (ROOT / "RUNNING.md").read_text()           # the README points there for damping
    default = lambda f, p: inspect.signature(f).parameters[p].default
    assert default(NetLearner, "relative_damping") == 1.0 and "`NetLearner`" in text and "uses `relative_damping=1.0` by default" in text
    assert default(ProjectedMTIF, "damping") == 0 and default(ProjectedMTIF, "relative_damping") == 0
    assert default(projected_solver, "damping") == 0 and "undamped by default (`damping=0`, `relative_damping=0`)" in text
    assert "damping" not in inspect.signature(task_influence).parameters and "The exact path never damps" in text
    assert "Nothing is damped unless you pass" not in text

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
