"""fastcore's rhythm in numbers: for every `#| export` cell of the chapters, its length in lines and whether a code cell
that is not exported (a test or an example) follows it before the next exported one.

    python scripts/export_cells.py [--rev GIT_REV]      # the working tree, or the chapters as committed at GIT_REV
"""
import argparse, json, subprocess, statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def notebooks(rev=None):
    if rev is None: return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted((ROOT / "nbs").glob("*.ipynb"))}
    names = subprocess.run(["git", "ls-tree", "--name-only", rev, "nbs/"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    return {Path(n).name: json.loads(subprocess.run(["git", "show", f"{rev}:{n}"], cwd=ROOT, capture_output=True, text=True, check=True).stdout)
            for n in names if n.endswith(".ipynb")}

def _reference(src: str) -> bool:
    "A cell that only shows an API reference card (`show_doc`): not a check of the cell before it."
    lines = [l for l in src.splitlines() if l.strip() and not l.startswith(("#", "from nbdev.showdoc import"))]
    return bool(lines) and all(l.startswith("show_doc(") for l in lines)

def stats(nbs: dict):
    rows = []
    for name, nb in nbs.items():
        cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
        src = ["".join(c["source"]) for c in cells]
        for i, s in enumerate(src):
            if not s.startswith("#| export"): continue
            nxt = next((t for t in src[i + 1:] if (t.startswith("#| export") or not t.startswith("#|")) and not _reference(t)), None)
            code = [l for l in s.splitlines()[1:] if l.strip() and not l.lstrip().startswith("#")]
            imports = all(l.startswith(("import ", "from ", " ", ")")) for l in code)      # an imports-only cell: nothing to test
            rows.append(dict(nb=name, lines=s.count("\n") + 1, imports=imports,
                             checked=nxt is not None and not nxt.startswith("#| export")))
    return rows

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0]); ap.add_argument("--rev")
    rows = stats(notebooks(ap.parse_args().rev))
    lines = [r["lines"] for r in rows]
    print(f"{len(rows)} export cells; lines: median {statistics.median(lines):.0f}, max {max(lines)}; "
          f"followed by a check or example: {sum(r['checked'] for r in rows)} ({sum(r['checked'] for r in rows) / len(rows):.0%})")
    code = [r for r in rows if not r["imports"]]
    print(f"without the {len(rows) - len(code)} imports-only cells: {sum(r['checked'] for r in code)} of {len(code)} "
          f"({sum(r['checked'] for r in code) / len(code):.0%})")
    worst = {}
    for r in code: worst.setdefault(r["nb"], [0, 0]); worst[r["nb"]][0] += not r["checked"]; worst[r["nb"]][1] += 1
    print("code cells without a check after them, by chapter:", ", ".join(f"{n[:-6]} {a}/{b}" for n, (a, b) in sorted(worst.items(), key=lambda kv: -kv[1][0]) if a))
