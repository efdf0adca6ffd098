"""Are two revisions' outputs byte-identical? (A refactor's proof that behaviour is unchanged.)

``python benchmarks/compare_revisions.py BASE [HEAD]`` exports both git revisions into a
temporary folder, generates the input plans once (the shipped sample plan and two plans of the
benchmark generator), and runs each revision's own CLI on the same files, with
``SOURCE_DATE_EPOCH`` set: ``omplan run --json --out``, ``omplan batch --quarter all`` (quarterly
budgets, rollups, batch report), ``omplan new`` (empty, ``--sample`` and ``.xlsm``). It prints one
line per output file with its SHA-256 under each revision and exits 1 if any differ. HEAD may be
``WORKTREE`` for the uncommitted working tree.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EPOCH = "1767225600"  # 2026-01-01T00:00:00Z


def export(rev: str, dest: Path) -> Path:
    """The revision's tree in ``dest`` (``WORKTREE``: the working tree as it is)."""
    dest.mkdir(parents=True)
    if rev == "WORKTREE":
        shutil.copytree(ROOT / "src", dest / "src")
    else:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "src"],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest / "src"


def make_inputs(folder: Path) -> list[str]:
    """The plans every revision runs on: the sample and two generated ones."""
    folder.mkdir()
    shutil.copy(ROOT / "workbooks" / "sample_plan.xlsx", folder / "sample_plan.xlsx")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from generate import write_plan

    write_plan(folder / "gen_small.xlsx", 60, 3, seed=1)
    write_plan(folder / "gen_mid.xlsx", 400, 6, seed=2)
    return sorted(p.name for p in folder.glob("*.xlsx"))


def run_revision(src: Path, inputs: Path, work: Path, plans: list[str]) -> dict[str, str]:
    """Run one revision's CLI on the inputs; {relative output path: sha256}."""
    shutil.copytree(inputs, work)
    env = dict(os.environ, PYTHONPATH=str(src), SOURCE_DATE_EPOCH=EPOCH, COLUMNS="80")

    def omplan(*args: str) -> None:
        proc = subprocess.run([sys.executable, "-m", "omplan", *args], cwd=work, env=env,
                              capture_output=True, text=True)
        if proc.returncode not in (0,):
            raise SystemExit(f"omplan {' '.join(args)} exited {proc.returncode}:\n"
                             f"{proc.stdout}\n{proc.stderr}")

    (work / "out").mkdir()
    for plan in plans:
        stem = plan.removesuffix(".xlsx")
        omplan("run", plan, "--json", f"out/{stem}.json", "--out", f"out/{stem}_report.xlsx")
    omplan("batch", *plans, "--quarter", "all", "--out", "out/budgets", "--quiet", "--jobs", "1")
    omplan("new", "out/template.xlsx")
    omplan("new", "out/template_sample.xlsx", "--sample")
    omplan("new", "out/template_sample.xlsm", "--sample")
    return {str(p.relative_to(work / "out")): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((work / "out").rglob("*")) if p.is_file()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base")
    parser.add_argument("head", nargs="?", default="WORKTREE")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="omplan-compare-") as tmp:
        t = Path(tmp)
        plans = make_inputs(t / "inputs")
        results = []
        for i, rev in enumerate((args.base, args.head)):
            src = export(rev, t / f"rev{i}")
            results.append(run_revision(src, t / "inputs", t / f"work{i}", plans))
        old, new = results
        names = sorted(set(old) | set(new))
        differ = 0
        for name in names:
            a, b = old.get(name, "-"), new.get(name, "-")
            same = a == b
            differ += not same
            print(f"{'same' if same else 'DIFF'}  {name:<44} {a[:12]}  {b[:12]}")
        print(f"{len(names)} files, {len(names) - differ} byte-identical, {differ} different "
              f"({args.base} vs {args.head})")
        return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
