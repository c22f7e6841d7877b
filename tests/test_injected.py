"""Injected regressions must fail the suite, now that stochastic metrics are held only to their measured spread.

A bug is written where a developer would write it: into the chapter that defines the code (the notebooks are the
source; its cells define and test the code themselves) and into the exported module that later chapters import. The
quick suite is then run on the defining chapter and on a chapter that uses the code; each listed chapter must fail,
by its test cells or by its regression check."""
import json, os, shutil, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent

# name: (module, line as written, line with the bug, chapters whose quick run must each fail)
BUGS = {
    "sign flip of the data-level score": ("influence.py", "scale = nan_pad(s.d1 / s.n[:, None], s.mask)",
                                          "scale = nan_pad(-s.d1 / s.n[:, None], s.mask)", ["03_influence", "05_synthetic"]),
    "10% change of the shared Hessian block": ("hessian.py", "A, C = H.A, H.C\n", "A, C = H.A, 1.1 * H.C\n", ["01_block_hessian", "05_synthetic"]),
    "off-by-one in the LOTO loop": ("retrain.py", "active = 1 - torch.eye(K, dtype=mask.dtype, device=mask.device)",
                                    "active = 1 - torch.eye(K, dtype=mask.dtype, device=mask.device).roll(1, 1)", ["04_retrain", "05_synthetic"]),
    "sign flip of the network task-level score": ("trak.py", "    return self._scores(self._split(split))[1]\n", "    return -self._scores(self._split(split))[1]\n", ["09_trak"]),
    "task-level network MTIF without the theta_l part of Eq. 13": ("trak.py", "T = block_task_scores(U, gs.sum(1) / nn, gh.sum(1) / nn if theta_l else None)",
                                                                 "T = block_task_scores(U, gs.sum(1) / nn, None)", ["09_trak"]),
}

def _inject(text: str, old: str, new: str, where: str) -> str:
    assert text.count(old) == 1, f"{where} no longer has {old!r} once: update the injected bug"
    return text.replace(old, new)

@pytest.mark.parametrize("bug", list(BUGS))
def test_injected_regression_fails_the_suite(bug, tmp_path):
    module, old, new, must_fail = BUGS[bug]
    pkg, nbs = tmp_path / "pkg", tmp_path / "nbs"
    shutil.copytree(ROOT / "mtif", pkg / "mtif"); nbs.mkdir()
    f = pkg / "mtif" / module
    f.write_text(_inject(f.read_text(), old, new, module))
    src = f.read_text().split("File to edit: ../nbs/", 1)[1].split(".ipynb", 1)[0]           # the module's chapter
    for ch in must_fail:
        nb = json.loads((ROOT / "nbs" / f"{ch}.ipynb").read_text())
        if ch == src:
            for c in nb["cells"]:
                s = "".join(c["source"])
                if old in s: c["source"] = _inject(s, old, new, f"{ch}.ipynb")
            assert any(new in "".join(c["source"]) for c in nb["cells"]), f"{ch}.ipynb does not define {old!r}"
        (nbs / f"{ch}.ipynb").write_text(json.dumps(nb))
    env = dict(os.environ, PYTHONPATH=str(pkg), MTIF_NBS=str(nbs), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env.pop("PYTEST_XDIST_WORKER", None)
    probe = subprocess.run([sys.executable, "-c", "import mtif; print(mtif.__file__)"], env=env, capture_output=True, text=True, cwd=nbs)
    assert str(pkg) in probe.stdout, probe                              # the chapters import the package with the bug
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rf", str(ROOT / "tests" / "test_notebooks.py"),
                        "-k", "quick"], capture_output=True, text=True, timeout=900, cwd=ROOT, env=env)
    out = r.stdout + r.stderr
    for ch in must_fail:
        assert f"FAILED tests/test_notebooks.py::test_notebook_quick[{ch}]" in out, f"{bug}: {ch} did not fail\n{out[-3000:]}"
        how = "regression check" if f"of {ch} moved against" in out else "a test cell"
        print(f"{bug}: {ch} fails ({how})")
