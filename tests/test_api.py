"""The public API as outside code uses it: names, shapes, the sign convention, errors on bad input."""
import subprocess, sys
import pytest
import torch
from scipy import stats
from mtif.data import MultitaskData, make_synthetic, binarize
from mtif.hessian import BlockHessian, BlockSolver, NotPositiveDefiniteError
from mtif.linear import MultitaskRidge, MultitaskLogistic
from mtif.influence import data_influence, task_influence
from mtif.retrain import loo, loto, loo_closed_form


@pytest.fixture(scope="module")
def syn():
    return make_synthetic(K=5, n=90, d=6, delta=1.0, eps=0.2, seed=11, device="cpu")


def test_public_shapes(syn):
    m = MultitaskRidge(0.3).fit(syn)
    assert m.theta.shape == (5, 6) and m.gamma.shape == (6,)
    for method in ("first_order", "newton"):
        D = data_influence(m, syn, target=2, method=method)
        assert [t.shape[0] for t in D] == syn.sizes("train")
        T = task_influence(m, syn, method=method)
        assert T.shape == (5, 5) and torch.isnan(T.diagonal()).all() and not torch.isnan(T.fill_diagonal_(0)).any()
    assert [t.shape[0] for t in loo(m, syn, target=2, progress=False)] == syn.sizes("train")
    assert loto(m, syn, progress=False).shape == (5, 5)


def test_sign_convention_harmful_is_positive(syn):
    """Delta = V(all) - V(without): a corrupted label is harmful, so its score and its retrained Delta are > 0."""
    train = [(X.clone(), y.clone()) for X, y in syn.train]
    train[1][1][0] += 30.0
    dirty = MultitaskData(train, syn.val, syn.test)
    m = MultitaskRidge(0.3).fit(dirty)
    true = loo(m, dirty, target=1, progress=False)[1]
    for method in ("first_order", "newton"):
        pred = data_influence(m, dirty, target=1, method=method)[1]
        assert pred[0] > 0 and pred.argmax() == 0
    assert true[0] > 0 and true.argmax() == 0
    # and by definition: refit without the point, compare mean validation losses
    w = torch.ones(5, max(dirty.sizes())); w[1, 0] = 0
    for k, (X, y) in enumerate(dirty.train): w[k, len(y):] = 0
    V_all = m.split_losses(dirty, "val")[1]
    V_wo = MultitaskRidge(0.3).fit(dirty, weights=w).split_losses(dirty, "val")[1]
    assert torch.isclose(true[0], V_all - V_wo, atol=1e-12)


def test_task_level_sign_against_loto(syn):
    m = MultitaskRidge(0.3).fit(syn)
    T_true = loto(m, syn, progress=False)
    T_newton = task_influence(m, syn, method="newton")
    assert torch.allclose(T_newton.nan_to_num(), T_true.nan_to_num(), atol=1e-12, rtol=1e-9)
    T_fo = task_influence(m, syn)
    off = ~torch.eye(5, dtype=torch.bool)
    assert (torch.sign(T_fo[off]) == torch.sign(T_true[off])).float().mean() > 0.8


def test_closed_form_loo_equals_brute_force(syn):
    m = MultitaskRidge(0.3).fit(syn)
    for a, b in zip(loo_closed_form(m, syn, target=0), loo(m, syn, target=0, progress=False)):
        assert torch.allclose(a, b, rtol=1e-9, atol=1e-13)


def test_logistic_newton_beats_first_order_on_loo():
    d = binarize(make_synthetic(K=4, n=150, d=5, delta=1.0, eps=0.25, seed=2, device="cpu"))
    m = MultitaskLogistic(0.1).fit(d)
    true = torch.cat(loo(m, d, target=0, progress=False))
    err = {meth: (torch.cat(data_influence(m, d, target=0, method=meth)) - true).norm() / true.norm()
           for meth in ("first_order", "newton")}
    assert err["newton"] < err["first_order"]
    assert stats.pearsonr(torch.cat(data_influence(m, d, target=0)), true)[0] > 0.8


def test_bad_input_errors(syn):
    X, y = torch.randn(4, 3, dtype=torch.float64), torch.randn(4, dtype=torch.float64)
    with pytest.raises(ValueError, match="task 1 is empty"):
        MultitaskData([(X, y), (X[:0], y[:0])], [(X, y)] * 2, [(X, y)] * 2)
    Xn = X.clone(); Xn[1, 1] = float("inf")
    with pytest.raises(ValueError, match="NaN or inf"):
        MultitaskData([(Xn, y)], [(X, y)], [(X, y)])
    with pytest.raises(ValueError, match="4 rows but y has 3"):
        MultitaskData([(X, y[:3])], [(X, y)], [(X, y)])
    m = MultitaskRidge(0.3).fit(syn)
    with pytest.raises(ValueError, match="unknown target task 5"):
        data_influence(m, syn, target=5)
    with pytest.raises(NotPositiveDefiniteError, match="Schur complement"):
        MultitaskRidge(0.0).fit(syn)
    H = BlockHessian(-torch.eye(2, dtype=torch.float64).expand(3, 2, 2).clone(), torch.zeros(3, 2, 2, dtype=torch.float64),
                     torch.eye(2, dtype=torch.float64))
    with pytest.raises(NotPositiveDefiniteError, match="task block A_0"):
        BlockSolver(H)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU on this machine")
def test_cuda_matches_cpu(syn):
    gpu = syn.to("cuda")
    m_c, m_g = MultitaskLogistic(0.2).fit(binarize(syn)), MultitaskLogistic(0.2).fit(binarize(gpu))
    assert torch.allclose(m_c.theta, m_g.theta.cpu(), atol=1e-10)
    assert torch.allclose(task_influence(m_c, binarize(syn)).nan_to_num(),
                          task_influence(m_g, binarize(gpu)).cpu().nan_to_num(), atol=1e-10)


def test_cli_reproduce_quick(tmp_path):
    r = subprocess.run([sys.executable, "-m", "mtif.cli", "reproduce", "--quick", "--only", "01",
                        "--out", str(tmp_path / "runs"), "--figures", str(tmp_path / "figs")],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "block vs dense speed-up" in r.stdout
    assert (tmp_path / "runs" / "01_block_hessian.ipynb").exists() and (tmp_path / "figs" / "01_block_hessian" / "block_vs_dense.png").exists()
    bad = subprocess.run([sys.executable, "-m", "mtif.cli", "reproduce", "--only", "nope"], capture_output=True, text=True)
    assert bad.returncode != 0 and "no notebook matches" in bad.stderr


def test_top_level_api():
    "`from mtif import ...` gives the chapters' own objects, and `import mtif` alone does not load torch."
    import importlib, mtif
    for name, module in mtif._API.items():
        assert getattr(mtif, name) is getattr(importlib.import_module(f"mtif.{module}"), name), name
    assert set(mtif._API) <= set(dir(mtif)) and mtif.__all__[0] == "__version__"
    from mtif import MTIF, ProjectedMTIF, select_data        # noqa: F401  (the README's spelling)
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"): mtif.nonsense
    r = subprocess.run([sys.executable, "-c", "import sys, mtif; print('torch' in sys.modules)"], capture_output=True, text=True)
    assert r.stdout.strip() == "False", (r.stdout, r.stderr)


def test_every_class_prints_what_it_is():
    """No object of the package prints as `<... object at 0x...>`: every public class it defines (bar exceptions) has a
    `__repr__` other than `object`'s (its own, a dataclass's, or nn.Module's tree of layers)."""
    import importlib, inspect, pkgutil
    import mtif
    bare = []
    for info in pkgutil.iter_modules(mtif.__path__):
        mod = importlib.import_module(f"mtif.{info.name}")
        for name, cls in vars(mod).items():
            if (inspect.isclass(cls) and cls.__module__ == mod.__name__ and not name.startswith("_")
                    and not issubclass(cls, BaseException) and cls.__repr__ is object.__repr__): bare.append(f"{mod.__name__}.{name}")
    assert not bare, f"classes that print as <... object at 0x...>: {bare}"
