#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Mutation run over the 6.1 model whose only killer is ``kmodel check`` on the real traces.

Usage (from the repository root, docs/mutation.md)::

    python scripts/mutate_check.py [--rev COMMIT] [--sample N | --budget SECONDS] [--seed S]
        [--cache FILE] [--timeout SECONDS] [--verify-unreached K] [--classify] [--report]

1. ``kmodel/`` and ``tests/data/traces/`` of commit ``--rev`` (default HEAD) are exported
   (``git archive``) to a private temporary directory (the working tree, where others edit,
   is neither read nor written); the whole fault-injection captures
   (``fi/whole/*.trace.txt.xz``) are decompressed there beside a copy of their
   ``NAME.kprobe_profile.txt``.
2. Every ``kmodel/mm/*.py`` and ``kmodel/block/*.py`` is parsed and mutated by the small AST
   mutator below: comparison flips (``==``/``!=``, ``<``/``>=``, ``>``/``<=``, ``is``/``is not``,
   ``in``/``not in``), ``if``/``elif``/``while`` condition negated, ``and``/``or`` swapped,
   +1 and -1 on integer constants, a call statement or an assignment replaced by ``pass``,
   ``return X`` made ``return None`` (``return True``/``False`` flipped). One mutant is one
   change; its text replaces exactly the mutated node's span, the rest of the file is untouched.
   Docstrings, annotations, imports, ``assert`` statements and ``if TYPE_CHECKING`` blocks are
   not mutated.
3. The unmutated copy is checked once under ``coverage``: a mutant none of whose lines the
   traces execute cannot change the checker's run (the run is deterministic and identical up to
   the first executed mutated node), so it is recorded as surviving, "not reached", without a
   run. ``--verify-unreached K`` runs K of them anyway, to test that claim.
4. Each reached mutant (or a seeded sample of them, stratified per file: ``--sample N``) is
   written into the copy and ``python -m kmodel check --json <all traces>`` is run with
   ``PYTHONPATH`` at the copy, one process at a time. Outcome:

   * **killed**: the run ends normally (JSON report, exit 0/1/3) and some file's verdict or
     divergence count differs from the unmutated tree's;
   * **crashed**: no JSON report, or a traceback, or exit 2: since d04f1a3 an exception the
     model's own code raises is a ``model-raised`` divergence (so a kill, in the JSON report),
     and what is left here is the checker's own failure (a ``CheckerBug``: exit 2, "internal
     error of kmodel's checker", e.g. a deleted attrs field of a model class the checker
     builds). A crash is *not* a kill; it is reported apart, and the ratio is given both ways;
   * **timeout**: no end within ``--timeout`` seconds (counted like a crash);
   * **survived**: the same verdicts and divergence counts for every trace.

Results are cached per mutant in ``--cache`` (JSON; the key holds the file's content hash, so a
changed model file gets fresh mutants), so a rerun resumes. The report (per-file table, overall
ratio with a 95% confidence interval when sampled, survivors with their line) is printed, and
written as JSON with ``--json-out``.
"""

from __future__ import annotations

import argparse
import ast
import copy
import functools
import hashlib
import json
import lzma
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("kmodel/mm", "kmodel/block")

FLIP: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Lt: ast.GtE, ast.GtE: ast.Lt,
    ast.Gt: ast.LtE, ast.LtE: ast.Gt, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
    ast.In: ast.NotIn, ast.NotIn: ast.In,
}


@dataclass(frozen=True)
class Mutant:
    """One change to one model file: ``text`` replaces the source span of one node."""

    key: str            # path@hash#index: stable while the file is unchanged
    path: str           # relative to the repository root
    lineno: int
    end_lineno: int
    op: str             # cmp | if-not | boolop | const+1 | const-1 | del | return
    what: str           # the original and the mutated text, short
    line: str           # the original first line, stripped
    source: str         # the whole mutated file


def _span(lines: list[str], node: ast.AST) -> tuple[int, int]:
    """Offsets of ``node`` in the file (``lines`` keep their ends)."""
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    # col offsets are in UTF-8 bytes; the model sources are ASCII in their code.
    begin = starts[node.lineno - 1] + node.col_offset  # type: ignore[attr-defined]
    end = starts[node.end_lineno - 1] + node.end_col_offset  # type: ignore[attr-defined]
    return begin, end


def _skipped_fields(node: ast.AST) -> set[str]:
    """Subtrees the mutator leaves alone: annotations (typing only)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return {"returns", "decorator_list"}
    if isinstance(node, ast.arg):
        return {"annotation"}
    if isinstance(node, ast.AnnAssign):
        return {"annotation"}
    if isinstance(node, ast.ClassDef):
        return {"decorator_list", "bases", "keywords"}
    return set()


def _walk(node: ast.AST) -> Iterator[ast.AST]:
    """Nodes to mutate, in source order, skipping docstrings, imports, asserts, TYPE_CHECKING."""
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.Assert)):
        return
    if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and \
            node.test.id == "TYPE_CHECKING":
        return
    yield node
    skip = _skipped_fields(node)
    for field, value in ast.iter_fields(node):
        if field in skip:
            continue
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            if not isinstance(item, ast.AST):
                continue
            if (field == "body" and i == 0 and isinstance(item, ast.Expr)
                    and isinstance(item.value, ast.Constant)
                    and isinstance(item.value.value, str)):
                continue  # docstring
            yield from _walk(item)


def _edits(node: ast.AST) -> Iterator[tuple[str, ast.AST, str]]:
    """(operator, node whose span is replaced, replacement text) for one node."""
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            flipped = FLIP.get(type(op))
            if flipped is None:
                continue
            new = copy.deepcopy(node)
            new.ops[i] = flipped()
            yield "cmp", node, f"({ast.unparse(new)})"
    elif isinstance(node, (ast.If, ast.While)):
        yield "if-not", node.test, f"not ({ast.unparse(node.test)})"
    elif isinstance(node, ast.BoolOp):
        swapped = copy.deepcopy(node)
        swapped.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        yield "boolop", node, f"({ast.unparse(swapped)})"
    elif isinstance(node, ast.Constant) and type(node.value) is int:
        yield "const+1", node, repr(node.value + 1)
        yield "const-1", node, repr(node.value - 1)
    elif (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)) or isinstance(
            node, (ast.Assign, ast.AugAssign)) or (isinstance(node, ast.AnnAssign)
                                                   and node.value is not None):
        yield "del", node, "pass"
    elif isinstance(node, ast.Return) and node.value is not None:
        value = node.value
        if isinstance(value, ast.Constant) and isinstance(value.value, bool):
            yield "return", value, repr(not value.value)
        elif not (isinstance(value, ast.Constant) and value.value is None):
            yield "return", value, "None"


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True,
                          text=True).stdout


@functools.cache
def source(rel: str, rev: str) -> str:
    """A file of the tree at commit ``rev``."""
    return git("show", f"{rev}:{rel}")


def mutants_of(rel: str, rev: str) -> list[Mutant]:
    """Every mutant of one model file (at commit ``rev``) that still compiles."""
    text = source(rel, rev)
    digest = rev[:10] + "-" + hashlib.sha1(text.encode()).hexdigest()[:10]
    lines = text.splitlines(keepends=True)
    tree = ast.parse(text)
    out: list[Mutant] = []
    seen: set[str] = set()
    for node in _walk(tree):
        for op, target, replacement in _edits(node):
            begin, end = _span(lines, target)
            old = text[begin:end]
            mutated = text[:begin] + replacement + text[end:]
            if mutated == text or mutated in seen:
                continue
            try:
                compile(mutated, rel, "exec")
            except SyntaxError:
                continue
            seen.add(mutated)
            short_old = " ".join(old.split())
            short_new = " ".join(replacement.split())
            out.append(Mutant(
                key=f"{rel}@{digest}#{len(out)}", path=rel, lineno=target.lineno,  # type: ignore[attr-defined]
                end_lineno=target.end_lineno or target.lineno,  # type: ignore[attr-defined]
                op=op, what=f"{short_old[:70]} -> {short_new[:70]}",
                line=lines[target.lineno - 1].strip(),  # type: ignore[attr-defined]
                source=mutated))
    return out


def enclosing(path: str, lineno: int, rev: str) -> str:
    """The function (or class, or module) holding a line of a model file."""
    best = "<module>"
    for node in ast.walk(ast.parse(source(path, rev))):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and \
                node.lineno <= lineno <= (node.end_lineno or node.lineno):
            best = node.name  # ast.walk is breadth-first: the innermost comes last
    return best


def model_files(rev: str) -> list[str]:
    return [p for p in git("ls-tree", "--name-only", rev, *(f"{pkg}/" for pkg in PACKAGES))
            .split() if p.endswith(".py") and not p.endswith("/__init__.py")]


# --- the private copy and the checker runs -------------------------------------------------

def make_copy(work: Path, rev: str) -> tuple[Path, list[str]]:
    """Export kmodel/ and the traces of commit ``rev`` to ``work`` (git archive: the working
    tree, where others edit, is not read); return (PYTHONPATH, trace paths)."""
    src = work / "src"
    src.mkdir()
    tree = work / "tree"
    tree.mkdir()
    archive = subprocess.run(["git", "archive", rev, "kmodel", "tests/data/traces"], cwd=ROOT,
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    shutil.move(str(tree / "kmodel"), str(src / "kmodel"))
    data = tree / "tests" / "data" / "traces"
    traces = work / "traces"
    shutil.copytree(data, traces, ignore=shutil.ignore_patterns("v6_12", "*.xz"))
    whole = traces / "fi" / "whole"
    whole.mkdir(parents=True, exist_ok=True)
    for xz in sorted((data / "fi" / "whole").glob("*.trace.txt.xz")):
        name = xz.name.removesuffix(".trace.txt.xz")
        with lzma.open(xz, "rb") as f:
            (whole / f"{name}.trace.txt").write_bytes(f.read())
        profile = data / "fi" / f"{name}.kprobe_profile.txt"
        if profile.exists():
            shutil.copy2(profile, whole / profile.name)
    # The slot-ledger captures (G1): untrimmed, xz; their kprobe_profiles were copied above.
    for xz in sorted((data / "slots").glob("*.trace.txt.xz")):
        with lzma.open(xz, "rb") as f:
            (traces / "slots" / xz.name.removesuffix(".xz")).write_bytes(f.read())
    paths = [str(p) for sub in ("", "conditions", "statuses", "fi", "fi/whole", "slots")
             for p in sorted((traces / sub).glob("*.trace.txt"))]
    return src, paths


def _env(src: Path, write_bytecode: bool) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(src)
    env.pop("COVERAGE_PROCESS_START", None)
    if not write_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


@dataclass
class Run:
    outcome: str                        # baseline | killed | crashed | timeout | survived
    rc: int | None
    seconds: float
    files: dict[str, tuple[str, int]]   # trace name -> (verdict, divergences)
    detail: str = ""


def check(src: Path, traces: list[str], timeout: float, write_bytecode: bool = False,
          cover: Path | None = None, stop_first: bool = False) -> Run:
    """One ``python -m kmodel check --json`` over all traces, from a neutral directory;
    with ``stop_first``, each trace's check stops at its first divergence."""
    head = [sys.executable, "-m"]
    if cover is not None:
        head += ["coverage", "run", f"--data-file={cover}",
                 "--source=" + ",".join(str(src / p) for p in PACKAGES), "-m"]
    cmd = [*head, "kmodel", "check", "--json", *(["--max-divergences", "1"] if stop_first else []),
           *traces]
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=src.parent, env=_env(src, write_bytecode),
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return Run("timeout", None, time.monotonic() - start, {}, f"no end in {timeout:.0f} s")
    seconds = time.monotonic() - start
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        report = None
    if report is None or "Traceback" in proc.stderr or proc.returncode not in (0, 1, 3):
        tail = [line for line in proc.stderr.strip().splitlines() if line.strip()]
        return Run("crashed", proc.returncode, seconds, {}, tail[-1][:200] if tail else
                   f"exit {proc.returncode}, no JSON report")
    files = {}
    first = ""
    for f in report["files"]:
        name = os.path.relpath(f["path"], src.parent / "traces")
        files[name] = (f["verdict"], len(f.get("divergences", [])))
        if not first and f.get("divergences"):
            d = f["divergences"][0]
            first = f"{name}: {str(d.get('message', d))[:160]}"
    return Run("baseline", proc.returncode, seconds, files, first)


#: Run in the copy: a digest per model scenario of what ``kmodel simulate`` writes (the vma
#: pointers, made from id(), and block_rq_complete, which real captures do not record, left out).
SIMULATE = """
import hashlib, io, json, re
from kmodel.scenarios import SCENARIOS
from kmodel.trace.simulate import simulate
vma = re.compile(r"vma=0x[0-9a-f]+")
out = {}
for name in sorted(SCENARIOS):
    f = io.StringIO()
    try:
        simulate(name, f, events=%d, seed=0)
    except Exception as error:
        out[name] = "crash: " + type(error).__name__
        continue
    text = "".join(line for line in vma.sub("vma=?", f.getvalue()).splitlines(True)
                   if " block_rq_complete: " not in line)
    out[name] = hashlib.sha1(text.encode()).hexdigest()
print(json.dumps(out))
"""
SIM_EVENTS = 1500


def simulated(src: Path, timeout: float, cover: Path | None = None) -> dict[str, str] | str:
    """The scenario digests of the copy's model, or why there are none."""
    head = [sys.executable]
    if cover is not None:
        head += ["-m", "coverage", "run", f"--data-file={cover}",
                 "--source=" + ",".join(str(src / p) for p in PACKAGES)]
        script = src.parent / "simulate_digest.py"
        script.write_text(SIMULATE % SIM_EVENTS)
        cmd = [*head, str(script)]
    else:
        cmd = [*head, "-c", SIMULATE % SIM_EVENTS]
    try:
        proc = subprocess.run(cmd, cwd=src.parent, env=_env(src, cover is not None),
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout"
    try:
        digests: dict[str, str] = json.loads(proc.stdout)
    except json.JSONDecodeError:
        tail = [line for line in proc.stderr.splitlines() if line.strip()]
        return "crash: " + (tail[-1][:160] if tail else f"exit {proc.returncode}")
    return digests


def executed_lines(cover: Path, src: Path) -> dict[str, set[int]]:
    import coverage  # the dev dependency; only the baseline needs it

    data = coverage.CoverageData(basename=str(cover))
    data.read()
    out: dict[str, set[int]] = {}
    for measured in data.measured_files():
        rel = os.path.relpath(measured, src)
        out[rel] = set(data.lines(measured) or ())
    return out


# --- the report --------------------------------------------------------------------------

def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=int, default=0,
                        help="run a seeded sample of N reached mutants, stratified per file "
                             "(default: all reached mutants)")
    parser.add_argument("--seed", type=int, default=20261206)
    parser.add_argument("--rev", default="HEAD",
                        help="the commit whose model, checker and traces are used (default HEAD)")
    parser.add_argument("--cache",
                        default=str(Path.home() / ".cache" / "kmodel" / "mutation-cache.json"),
                        help="per-mutant results (JSON), read and extended (resume)")
    parser.add_argument("--timeout", type=float, default=0,
                        help="seconds per mutant run (default: 10 x the unmutated run, >= 60)")
    parser.add_argument("--verify-unreached", type=int, default=0, metavar="K",
                        help="also run K (seeded) mutants the traces never reach")
    parser.add_argument("--list", action="store_true", help="list the mutants and stop")
    parser.add_argument("--budget", type=float, default=0,
                        help="stop starting new runs after this many seconds (0: no limit)")
    parser.add_argument("--classify", action="store_true",
                        help="for each surviving mutant, also compare the traces the model's "
                             "own scenarios write (kmodel simulate) with the unmutated model's")
    parser.add_argument("--max-runs", type=int, default=0, metavar="N",
                        help="start at most N new runs (the unreached ones to verify first)")
    parser.add_argument("--report", action="store_true",
                        help="run nothing new: report what the cache holds for the selection")
    parser.add_argument("--json-out", help="write the results as JSON here")
    parser.add_argument("--first-divergence", action="store_true",
                        help="stop each trace's check at its first divergence (the same kills "
                             "when the unmutated traces are all conformant, which is checked)")
    parser.add_argument("--shard", metavar="I/N", default="1/1",
                        help="run only the I-th of N interleaved parts of the selection (N "
                             "processes with N caches; --report over their merged cache)")
    parser.add_argument("--same-as", metavar="CACHE",
                        help="run the mutants an earlier run's cache holds (matched by file, "
                             "operator, change and line text, so a model file that changed "
                             "elsewhere keeps them) instead of a sample")
    args = parser.parse_args(argv)

    args.rev = git("rev-parse", "--verify", f"{args.rev}^{{commit}}").strip()
    mutants = [m for p in model_files(args.rev) for m in mutants_of(p, args.rev)]
    if args.list:
        for m in mutants:
            print(f"{m.path}:{m.lineno}: [{m.op}] {m.what}")
        print(f"{len(mutants)} mutants", file=sys.stderr)
        return 0

    cache_path = Path(args.cache)
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    cache: dict[str, dict[str, object]] = (json.loads(cache_path.read_text())
                                           if cache_path.exists() else {})
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kmodel-mutate-") as tmp:
        work = Path(tmp)
        src, traces = make_copy(work, args.rev)
        base = check(src, traces, timeout=3600, write_bytecode=True)
        if base.outcome != "baseline":
            print(f"the unmutated tree does not check: {base.outcome}: {base.detail}",
                  file=sys.stderr)
            return 2
        cover = work / "coverage.data"
        covered = check(src, traces, timeout=3600, cover=cover)
        if covered.files != base.files:
            print("the coverage run's verdicts differ from the plain run's", file=sys.stderr)
            return 2
        lines = executed_lines(cover, src)
        if args.first_divergence and any(v[1] for v in base.files.values()):
            print("--first-divergence needs an unmutated run without divergences",
                  file=sys.stderr)
            return 2
        timeout = args.timeout or max(60.0, 10 * base.seconds)
        print(f"commit {args.rev}; unmutated: {len(traces)} traces, {base.seconds:.1f} s, "
              f"{sum(1 for v in base.files.values() if v[0] != 'conformant')} not conformant "
              f"({', '.join(k for k, v in base.files.items() if v[0] != 'conformant')}); "
              f"{len(mutants)} mutants; timeout {timeout:.0f} s", file=sys.stderr)

        def reached(m: Mutant) -> bool:
            hit = lines.get(m.path, set())
            return any(n in hit for n in range(m.lineno, m.end_lineno + 1))

        reach = [m for m in mutants if reached(m)]
        unreached = [m for m in mutants if not reached(m)]
        rng = random.Random(args.seed)
        chosen = reach
        if args.same_as:
            chosen = same_as(Path(args.same_as), mutants)
        elif args.sample and args.sample < len(reach):
            by_file: dict[str, list[Mutant]] = {}
            for m in reach:
                by_file.setdefault(m.path, []).append(m)
            chosen = []
            for group in by_file.values():
                share = max(1, round(args.sample * len(group) / len(reach)))
                chosen += rng.sample(group, min(share, len(group)))
        verify = rng.sample(unreached, min(args.verify_unreached, len(unreached)))
        shard, shards = (int(x) for x in args.shard.split("/"))
        todo = [m for m in chosen[shard - 1::shards] if m.key not in cache]
        rng.shuffle(todo)  # a --budget cut leaves an unbiased part of each file's sample
        todo = [m for m in verify if m.key not in cache] + todo
        if args.max_runs:
            todo = todo[:args.max_runs]
        print(f"reached {len(reach)}, not reached {len(unreached)}; to run {len(chosen)} "
              f"(+{len(verify)} unreached), {len(todo)} not cached", file=sys.stderr)

        pristine = {p: (work / "pristine" / p) for p in {m.path for m in todo}}
        for rel, copy_path in pristine.items():
            copy_path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / rel, copy_path)
        for i, m in enumerate(todo, 1):
            if args.report or (args.budget and time.monotonic() - started > args.budget):
                print(f"budget spent: {len(todo) - i + 1} runs left", file=sys.stderr)
                break
            target = src / m.path
            target.write_text(m.source)
            os.utime(target, (1, 1))  # never the pyc's recorded mtime: always recompiled
            try:
                run = check(src, traces, timeout, stop_first=args.first_divergence)
            finally:
                shutil.copy2(pristine[m.path], target)  # mtime too: the pyc stays valid
            if run.outcome == "baseline":
                diff = sorted(k for k in base.files if run.files.get(k) != base.files[k])
                run.outcome = "killed" if diff else "survived"
                if diff:
                    run.detail = (f"{len(diff)} trace(s) differ: {', '.join(diff[:4])}; "
                                  + run.detail)
            cache[m.key] = {"outcome": run.outcome, "rc": run.rc,
                            "seconds": round(run.seconds, 2), "detail": run.detail,
                            "mutant": {k: v for k, v in asdict(m).items() if k != "source"}}
            cache_path.write_text(json.dumps(cache, indent=1, sort_keys=True))
            print(f"[{i}/{len(todo)}] {run.outcome:8} {m.path}:{m.lineno} [{m.op}] "
                  f"{m.what}  ({run.seconds:.1f} s)", file=sys.stderr, flush=True)

        if args.classify:
            classify(src, work, mutants, cache, cache_path, timeout, started, args.budget)

    return report(mutants, reach, unreached, chosen, verify, cache, args)


def same_as(path: Path, mutants: list[Mutant]) -> list[Mutant]:
    """The mutants of this commit that an earlier run's cache (``path``) ran. In a file whose
    text is unchanged, the same index; in a changed file, the same operator, change and line
    text, the nearest line first (a file that changed elsewhere keeps its mutants)."""
    def file_hash(key: str) -> str:
        return key.split("@", 1)[1].split("#", 1)[0].split("-", 1)[1]

    now = {(m.path, file_hash(m.key), m.key.rsplit("#", 1)[1]): m for m in mutants}
    chosen: list[Mutant] = []
    taken: set[str] = set()
    moved: list[dict[str, object]] = []
    for key, value in json.loads(path.read_text()).items():
        old = value["mutant"]
        m = now.get((old["path"], file_hash(key), key.rsplit("#", 1)[1]))
        if m is not None:
            chosen.append(m)
            taken.add(m.key)
        else:
            moved.append(old)
    gone = 0
    for old in moved:
        alike = [m for m in mutants if m.key not in taken and (m.path, m.op, m.what, m.line)
                 == (old["path"], old["op"], old["what"], old["line"])]
        if not alike:
            gone += 1
            continue
        best = min(alike, key=lambda m: abs(m.lineno - int(old["lineno"])))  # type: ignore[call-overload]
        chosen.append(best)
        taken.add(best.key)
    print(f"--same-as: {len(chosen)} of the earlier mutants found ({len(moved) - gone} in a "
          f"changed file, matched by their text), {gone} gone", file=sys.stderr)
    return chosen


def classify(src: Path, work: Path, mutants: list[Mutant], cache: dict[str, dict[str, object]],
             cache_path: Path, timeout: float, started: float, budget: float) -> None:
    """Survivors: does the mutant change the trace the model's own scenarios write?

    ``same``: no probe the captures record shows the change in any scenario (the mutant is
    equivalent as far as a trace can tell, there); ``differs``: a trace can show it, so the
    real traces either do not take that path or the checker does not compare it;
    ``not simulated``: the scenarios never execute the mutated lines (no verdict).
    """
    cover = work / "simulate.coverage"
    base = simulated(src, 3600, cover)
    if isinstance(base, str) or base != simulated(src, 3600):
        print(f"the scenarios' traces are not reproducible: {base}", file=sys.stderr)
        return
    sim_lines = executed_lines(cover, src)
    by_key = {m.key: m for m in mutants}
    todo = [by_key[k] for k, v in cache.items() if v["outcome"] == "survived" and k in by_key
            and "sim" not in v]
    for i, m in enumerate(todo, 1):
        if budget and time.monotonic() - started > budget:
            print(f"budget spent: {len(todo) - i + 1} classifications left", file=sys.stderr)
            break
        hit = sim_lines.get(m.path, set())
        if not any(n in hit for n in range(m.lineno, m.end_lineno + 1)):
            cache[m.key]["sim"] = "not simulated"
        else:
            target = src / m.path
            pristine = target.read_text()
            mtime = target.stat().st_mtime
            target.write_text(m.source)
            os.utime(target, (1, 1))
            try:
                got = simulated(src, timeout)
            finally:
                target.write_text(pristine)
                os.utime(target, (mtime, mtime))
            if isinstance(got, str):
                cache[m.key]["sim"] = "differs (" + got + ")"
            else:
                diff = sorted(n for n in base if got.get(n) != base[n])
                cache[m.key]["sim"] = ("differs: " + ", ".join(diff)) if diff else "same"
        cache_path.write_text(json.dumps(cache, indent=1, sort_keys=True))
        print(f"[{i}/{len(todo)}] sim {cache[m.key]['sim']}: {m.path}:{m.lineno} [{m.op}] "
              f"{m.what}", file=sys.stderr, flush=True)


def report(mutants: list[Mutant], reach: list[Mutant], unreached: list[Mutant],
           chosen: list[Mutant], verify: list[Mutant], cache: dict[str, dict[str, object]],
           args: argparse.Namespace) -> int:
    def outcome(m: Mutant) -> str | None:
        entry = cache.get(m.key)
        return None if entry is None else str(entry["outcome"])

    print("\n| file | mutants | not reached | reached | run | killed | crashed | timeout "
          "| survived | killed/run |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    totals = [0] * 8
    strata: list[tuple[int, int, int]] = []  # (reached, run, killed)
    for path in sorted({m.path for m in mutants}):
        n = sum(1 for m in mutants if m.path == path)
        nr = sum(1 for m in unreached if m.path == path)
        r = sum(1 for m in reach if m.path == path)
        outs = [outcome(m) for m in chosen if m.path == path]
        done = [o for o in outs if o is not None]
        k, c, t, s = (done.count(x) for x in ("killed", "crashed", "timeout", "survived"))
        strata.append((r, len(done), k))
        row = [n, nr, r, len(done), k, c, t, s]
        totals = [a + b for a, b in zip(totals, row, strict=True)]
        ratio = f"{100 * k / len(done):.0f}%" if done else "-"
        print(f"| {path} | " + " | ".join(map(str, row)) + f" | {ratio} |")
    n, nr, r, ran, k, c, t, s = totals
    print(f"| **all** | {n} | {nr} | {r} | {ran} | {k} | {c} | {t} | {s} | "
          f"{100 * k / ran:.0f}% |" if ran else "| **all** | - |")
    if ran:
        # Stratified estimate of the killed share among reached mutants, then over all.
        p = sum(rh * kh / nh for rh, nh, kh in strata if nh) / sum(rh for rh, nh, _ in strata
                                                                   if nh)
        var = sum((rh / r) ** 2 * (kh / nh) * (1 - kh / nh) / nh * (1 - nh / rh)
                  for rh, nh, kh in strata if nh and rh)
        half = 1.96 * math.sqrt(var)
        print(f"\nreached mutants killed: {100 * p:.1f}% (95% CI {100 * max(0, p - half):.1f}"
              f"-{100 * min(1, p + half):.1f}%, {ran} of {r} run)")
        est = p * r / n
        print(f"all mutants killed (the not-reached ones survive): {100 * est:.1f}% "
              f"({100 * max(0, p - half) * r / n:.1f}-{100 * min(1, p + half) * r / n:.1f}%)")
        lo, hi = wilson(k + c + t, ran)
        print(f"counting crashes and timeouts as detected: {100 * (k + c + t) / ran:.1f}% of "
              f"the run ({100 * lo:.1f}-{100 * hi:.1f}%)")
    if verify:
        vs = [outcome(m) for m in verify]
        print(f"\nnot-reached mutants run anyway: {len(vs)}, outcomes "
              f"{ {o: vs.count(o) for o in set(vs)} }")
    sims = [str(cache[m.key].get("sim", "unclassified")).split(":")[0].split(" (")[0]
            for m in chosen if outcome(m) == "survived"]
    print("\nsurvivors by their simulated traces: "
          + ", ".join(f"{s} {sims.count(s)}" for s in sorted(set(sims))))
    print("\nsurvivors (run, reached):")
    for m in chosen:
        if outcome(m) == "survived":
            sim = cache[m.key].get("sim", "-")
            print(f"- {m.path}:{m.lineno} {enclosing(m.path, m.lineno, args.rev)} [{m.op}] "
                  f"`{m.what}` (simulated: {sim})")
    print("\ncrashed / timeout:")
    for m in chosen:
        if outcome(m) in ("crashed", "timeout"):
            print(f"- {m.path}:{m.lineno} {enclosing(m.path, m.lineno, args.rev)} [{m.op}] "
                  f"`{m.what}`: {cache[m.key]['detail']}")
    print("\nnot reached (mutants per function):")
    for path in sorted({m.path for m in unreached}):
        funcs: dict[str, int] = {}
        for m in unreached:
            if m.path == path:
                name = enclosing(m.path, m.lineno, args.rev)
                funcs[name] = funcs.get(name, 0) + 1
        print(f"- {path}: " + ", ".join(f"{f} {n}" for f, n in funcs.items()))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({
            "mutants": len(mutants), "reached": len(reach), "not_reached": len(unreached),
            "results": {m.key: cache.get(m.key) for m in chosen + verify},
            "not_reached_mutants": [{k: v for k, v in asdict(m).items() if k != "source"}
                                    for m in unreached]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
