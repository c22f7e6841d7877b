"""The book (`mtif docs`) builds from the checkout with Sphinx warnings as errors, and renders in a real browser:
headless Chromium opens the landing page, one experiment chapter and one module chapter, every image on them loads,
no internal link (page or anchor) is broken, the formulas are typeset by the bundled MathJax, and screenshots are saved for the reviewer (`MTIF_SCREENSHOTS`, else
pytest's temporary folder; the path is printed). On every chapter page, no TeX is left unrendered: no `$` and no
`\\command` in the prose outside typeset math and code, and no MathJax error. Skipped only where Chromium is absent outside CI.
The book is built once per session and shows the module chapters from the quick runs tests/test_notebooks.py left (it
waits for them; conftest runs these tests last), so no chapter is executed twice."""
import functools, http.server, os, re, shutil, threading, urllib.request
from pathlib import Path
from urllib.parse import urljoin, urldefrag, urlparse
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
PAGES = ["index.html", "chapters/20_case_study.html", "chapters/08_nets.html"]

def _need_browser():
    if CHROMIUM and DRIVER: return
    if os.environ.get("CI"): pytest.fail("CI must install Debian's chromium and chromium-driver (see .ci/run)")
    pytest.skip("headless Chromium (Debian packages chromium, chromium-driver) is not installed on this machine")

WAIT_FOR_QUICK_RUNS_S = 30 * 60

def _await_quick_runs(session, runs: Path) -> None:
    """Wait until every chapter whose quick-mode test is in this session (`tests/test_notebooks.py`, run before the book's
    tests by conftest's ordering, by either xdist worker) has left its executed run or its `.failed` marker in `runs`;
    past WAIT_FOR_QUICK_RUNS_S the book executes what is missing itself."""
    import time
    stems = {it.callspec.id for it in session.items if it.originalname == "test_notebook_quick"}
    deadline = time.monotonic() + WAIT_FOR_QUICK_RUNS_S
    while (left := [s for s in stems if not (runs / f"{s}.ipynb").exists() and not (runs / f"{s}.failed").exists()]):
        if time.monotonic() > deadline: print(f"book: gave up waiting for the quick runs of {sorted(left)}"); return
        time.sleep(2)

@pytest.fixture(scope="module")
def site(request, tmp_path_factory):
    """One build per test session, shared by the xdist workers (a file lock: the first builds, the other reads it), which
    shows each module chapter from this session's quick run where `quick_run_usable` accepts it."""
    _need_browser()
    import fcntl
    from mtif.book import build_book
    from test_notebooks import quick_runs_dir
    runs = quick_runs_dir(tmp_path_factory)
    shared = runs.parent / "book"; shared.mkdir(exist_ok=True)
    out, done, failed = shared / "html", shared / "built", shared / "failed"
    with open(shared / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if failed.exists(): pytest.fail("the book's build failed in the other test worker (its error is in that worker's report)")
        if not done.exists():
            _await_quick_runs(request.session, runs)
            try: build_book(ROOT, out, execute=True, strict=True, progress=False, quick_runs=runs)   # raises on any Sphinx warning
            except BaseException: failed.touch(); raise
            done.touch()
    index = out / "index.html"
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(out))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield dict(index=index, out=out, base=f"http://127.0.0.1:{server.server_address[1]}/")
    server.shutdown()

@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    _need_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions(); opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-dev-shm-usage",
              "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1400,1000",
              f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        opts.add_argument(a)
    d = webdriver.Chrome(service=Service(DRIVER), options=opts)
    yield d
    d.quit()

_STRAY_JS = """
const done = arguments[arguments.length - 1];
const check = () => {
  const root = document.querySelector('article') || document.querySelector('main') || document.body;
  const c = root.cloneNode(true);
  c.querySelectorAll('mjx-container, pre, code, script, style, .cell_output, .output, .highlight, .headerlink').forEach(e => e.remove());
  const t = c.textContent, near = (re) => { const out = []; let m; while ((m = re.exec(t)) && out.length < 5) out.push(t.slice(Math.max(0, m.index - 40), m.index + 40).replace(/\\s+/g, ' ')); return out; };
  done({dollars: (t.match(/\\$/g) || []).length, commands: (t.match(/\\\\[a-zA-Z]+/g) || []).length,
        errors: document.querySelectorAll('mjx-merror').length, typeset: document.querySelectorAll('mjx-container').length,
        overflowing: Array.from(document.querySelectorAll('div.highlight pre, div.cell_output pre')).filter(e => e.scrollWidth > e.clientWidth + 2).length,
        where: near(/\\$|\\\\[a-zA-Z]+/g)});
};
if (window.MathJax && MathJax.startup && MathJax.startup.promise) MathJax.startup.promise.then(check, check); else check();
"""

def _stray_math(browser, url: str) -> dict:
    "TeX left in the prose of the page at `url` once MathJax has finished: counts of `$`, of `\\commands`, of MathJax errors, and where."
    from selenium.webdriver.support.ui import WebDriverWait
    browser.set_script_timeout(120)
    browser.get(url)
    WebDriverWait(browser, 60).until(lambda d: d.execute_script("return document.readyState") == "complete")
    return browser.execute_async_script(_STRAY_JS)

def test_every_chapter_and_module_has_a_page(site):
    out = site["out"]
    for nb in sorted((ROOT / "nbs").glob("[0-9][0-9]_*.ipynb")): assert (out / "chapters" / f"{nb.stem}.html").exists(), nb.stem
    mods = sorted(p.stem for p in (ROOT / "mtif").glob("*.py") if not p.stem.startswith("_"))
    for m in mods: assert (out / "api" / f"{m}.html").exists(), m
    assert "train_mtl" in (out / "api" / "nets.html").read_text(encoding="utf-8")

def _ids(html: str) -> set:
    return set(re.findall(r'\sid="([^"]+)"', html))

@pytest.mark.parametrize("page", PAGES)
def test_page_renders_images_load_links_resolve(site, browser, page, tmp_path_factory):
    base = site["base"]
    from selenium.webdriver.support.ui import WebDriverWait
    browser.get(urljoin(base, page))
    # under load (the suite runs beside other jobs) a page can still be loading when get() returns: wait for it
    WebDriverWait(browser, 60).until(lambda d: d.execute_script("return document.readyState") == "complete")
    n_math = browser.execute_script("return document.querySelectorAll('.math').length")
    if n_math:      # MathJax ships with the book (sphinx-mathjax-offline): the formulas must be typeset, not left as TeX
        WebDriverWait(browser, 60).until(lambda d: d.execute_script("return document.querySelectorAll('mjx-container').length") > 0)
    if page.startswith("chapters/08_"): assert n_math, "chapter 08's derivations should render as math"
    assert "mtif" in browser.title, browser.title
    text = browser.execute_script("return document.body.innerText")
    assert len(text) > 500, text[:200]                                   # rendered, not an empty shell
    broken_imgs = browser.execute_script(
        "return Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")
    assert not broken_imgs, broken_imgs
    n_imgs = browser.execute_script("return document.images.length")
    if page.startswith("chapters/20_"): assert n_imgs >= 3, n_imgs      # the full run's figures are there
    hrefs = browser.execute_script("return Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")
    internal = {h for h in hrefs if urlparse(h).netloc == urlparse(base).netloc}
    assert internal, "no internal links"
    pages, broken = {}, []
    for h in sorted(internal):
        url, frag = urldefrag(h)
        if url not in pages:
            try:
                with urllib.request.urlopen(url) as r: pages[url] = r.read().decode("utf-8", "replace")
            except Exception as e: pages[url] = None; broken.append(f"{h}: {e}")
        if pages[url] is not None and frag and frag not in _ids(pages[url]): broken.append(f"{h}: no element with id {frag!r}")
    assert not broken, broken[:20]
    shots = Path(os.environ.get("MTIF_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    f = shots / f"book_{Path(page).stem}.png"
    browser.save_screenshot(str(f))
    assert f.stat().st_size > 10_000
    print(f"screenshot: {f}")

def test_math_renders_on_every_chapter_page(site, browser):
    "Every chapter page (and the landing page, the tour and the README's pages): no `$`, no `\\command` left in the prose, no MathJax error, no code box scrolling sideways."
    pages = ["index.html", "tour.html", "RUNNING.html", "figures/REPORT.html"] + sorted(
        f"chapters/{p.name}" for p in (site["out"] / "chapters").glob("[0-9][0-9]_*.html"))
    assert len(pages) > 30 and all((site["out"] / p).exists() for p in pages), pages
    bad = {p: r for p in pages if (r := _stray_math(browser, urljoin(site["base"], p)))["dollars"] or r["commands"] or r["errors"] or r["overflowing"]}
    assert not bad, "unrendered TeX or code wider than its box on " + "; ".join(
        f"{p}: {r['dollars']} $, {r['commands']} \\commands, {r['errors']} MathJax errors, {r['overflowing']} code boxes scrolling, e.g. {r['where'][:2]}"
        for p, r in bad.items())

def test_no_control_characters_in_chapter_text():
    "A `\\b` or `\\t` written through a non-raw Python string lands in a notebook as a backspace or a tab, and MathJax fails on it."
    import json
    bad = [f"{nb.name} cell {c.get('id')}: {ch!r}" for nb in sorted((ROOT / "nbs").glob("*.ipynb"))
           for c in json.loads(nb.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "markdown"
           for ch in sorted({x for x in "".join(c["source"]) if ord(x) < 32 and x != "\n"})]
    assert not bad, bad

def test_no_internal_issue_numbers_in_chapter_prose():
    "Readers do not have the project's issue tracker: a chapter's prose says what changed, not which issue asked for it."
    import json
    hits = [f"{nb.name} cell {c.get('id')}: ...{m.group(0)}..." for nb in sorted((ROOT / "nbs").glob("*.ipynb"))
            for c in json.loads(nb.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "markdown"
            for m in re.finditer(r"\b[Ii]ssues? #?\d+", "".join(c["source"]))]
    assert not hits, hits
