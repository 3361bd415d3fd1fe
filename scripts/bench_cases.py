#!/usr/bin/env python3
"""Build the benchmark's cases from the upstream mirrors and Defects4J (bench README,
"How to build a case faithfully").

For each case, `<dir>/cases/<case_id>/` is a standalone git repository (no alternates)
whose only branch is `master` at `buggy`: no remote, tags, reflogs or FETCH_HEAD, and its
object store holds exactly the objects `buggy` reaches (one pack made by the mirror's
`pack-objects --revs`). Blobs absent from a snapshot (fetch leaves out the largest files)
are stood in for by a placeholder through `refs/replace/<blob>`, the only other refs. Its
work tree is `fixed`'s tree minus Defects4J's reverse `src.patch`, uncommitted (Lang-48
needs Defects4J's compile-errors patch test-44-48.diff first).
`<dir>/cases/<case_id>.trace` is the trigger-test file, `<dir>/cases/<case_id>.json` the
case's status, and `<dir>/cases.json` all of them.

    python scripts/bench_cases.py                     # all dev cases into ~/.cache/rca-bench
    python scripts/bench_cases.py --only Lang-48,Cli --force --jobs 2
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import (  # noqa: E402
    D4J_REPO, DEFAULT_MIRRORS, PROJECT_ROOT, CaseSpec, default_bench_dir, default_csv, find_mirror, git,
    git_out, load_specs, parse_only, selected,
)

BRANCH = "master"
STRIP_LEVELS = (1, 0, 2)  # Defects4J's Vcs::_apply_cmd order
_print_lock = threading.Lock()


def log(msg: str) -> None:
    with _print_lock:
        print(msg, file=sys.stderr, flush=True)


@dataclass
class CaseStatus:
    case_id: str
    project: str
    d4j_id: int
    upstream: str
    bic: str
    buggy: str
    fixed: str
    repo: str
    trace: str
    built: bool = False
    reason: str = ""
    bic_reachable: bool | None = None
    commits: int | None = None  # commits reachable from HEAD
    bic_distance: int | None = None  # commits in bic..HEAD
    patch: str = ""  # how src.patch applied: "-p1", "-p1 --ignore-whitespace", ...
    compile_errors: list[str] = field(default_factory=list)  # Defects4J compile-errors patches applied first
    dirty_files: int | None = None  # paths that `git status` reports
    absent_blobs: list[str] = field(default_factory=list)  # missing from the mirror, replaced by a placeholder
    seconds: float | None = None


# --- repository -------------------------------------------------------------------


def fetch_buggy(repo: Path, mirror: Path, buggy: str) -> list[str]:
    """A fresh repository holding only `buggy` and its ancestors, on `master`, checked out.

    The objects come as one pack of exactly what `buggy` reaches (`pack-objects --revs`,
    like a fetch). Snapshots may lack their largest blobs; each blob absent from the mirror
    gets a placeholder through `refs/replace/<blob>` so that checkout, `log -p` and `show`
    keep working, and its paths at HEAD are marked skip-worktree. Returns the absent blobs.
    """
    repo.mkdir(parents=True)
    git(["init", "-q", "-b", BRANCH, "."], cwd=repo)
    git(["config", "core.autocrlf", "false"], cwd=repo)
    pack = git(["pack-objects", "--revs", "--missing=allow-any", "--stdout", "-q"],
               git_dir=mirror, stdin=f"{buggy}\n".encode()).stdout
    git(["index-pack", "--stdin"], cwd=repo, stdin=pack)
    git(["update-ref", "--no-deref", f"refs/heads/{BRANCH}", buggy], cwd=repo)
    absent = replace_absent_blobs(repo)
    git(["reset", "-q", "--hard", BRANCH], cwd=repo)
    skip_absent_paths(repo, set(absent))
    scrub(repo)
    return absent


PLACEHOLDER = b"(this file's content is absent from the benchmark's mirror of the repository)\n"


def replace_absent_blobs(repo: Path) -> list[str]:
    out = git_out(["rev-list", "--objects", "--missing=print", "HEAD"], cwd=repo)
    absent = sorted(line[1:].split()[0] for line in out.splitlines() if line.startswith("?"))
    if not absent:
        return []
    holder = git(["hash-object", "-w", "--stdin"], cwd=repo, stdin=PLACEHOLDER).stdout.decode().strip()
    for oid in absent:
        git(["update-ref", f"refs/replace/{oid}", holder], cwd=repo)
    return absent


def skip_absent_paths(repo: Path, absent: set[str]) -> None:
    if not absent:
        return
    out = git_out(["ls-tree", "-r", "-z", "HEAD"], cwd=repo)
    paths = [e.split("\t", 1)[1] for e in out.split("\0") if e and e.split()[2] in absent]
    if paths:
        git(["update-index", "--skip-worktree", "-z", "--stdin"], cwd=repo,
            stdin=b"".join(p.encode() + b"\0" for p in paths))


def scrub(repo: Path) -> None:
    """Remove whatever names the mirror or could lead past `buggy`."""
    gd = repo / ".git"
    for name in ("FETCH_HEAD", "ORIG_HEAD", "packed-refs"):
        (gd / name).unlink(missing_ok=True)
    shutil.rmtree(gd / "logs", ignore_errors=True)
    for ref in git_out(["for-each-ref", "--format=%(refname)"], cwd=repo).split():
        if ref != f"refs/heads/{BRANCH}" and not ref.startswith("refs/replace/"):
            git(["update-ref", "-d", ref], cwd=repo)


def apply_fixed_tree(repo: Path, mirror: Path, buggy: str, fixed: str) -> None:
    """Work tree := fixed's tree, uncommitted (binary-safe diff from the mirror)."""
    diff = git(["diff", "--binary", "--full-index", "--no-renames", "--no-ext-diff",
                buggy, fixed], git_dir=mirror).stdout
    if diff.strip():
        git(["apply", "--binary", "--whitespace=nowarn", "-"], cwd=repo, stdin=diff)


def try_apply(repo: Path, patch: Path, extra: list[str]) -> str | None:
    """Apply `patch` with the first strip level whose --check passes; the level used, or None."""
    for n in STRIP_LEVELS:
        args = ["apply", f"-p{n}", *extra]
        if git(args + ["--check", str(patch)], cwd=repo, check=False).returncode == 0:
            git(args + [str(patch)], cwd=repo)
            return " ".join([f"-p{n}", *extra])
    return None


def apply_src_patch(repo: Path, patch: Path) -> str | None:
    return try_apply(repo, patch, []) or try_apply(repo, patch, ["--ignore-whitespace"])


# --- Defects4J --------------------------------------------------------------------


def d4j_file(d4j: Path, path: str) -> bytes:
    return git(["show", f"HEAD:{path}"], git_dir=d4j).stdout


def compile_error_patches(d4j: Path, project: str, bid: int) -> list[str]:
    """Names of `compile-errors/*-<lo>-<hi>.diff` whose range covers `bid` (Project/<P>.pm)."""
    base = f"framework/projects/{project}/compile-errors"
    proc = git(["ls-tree", "--name-only", f"HEAD:{base}"], git_dir=d4j, check=False)
    names = proc.stdout.decode().split() if proc.returncode == 0 else []
    out = []
    for name in sorted(names):
        m = re.search(r"-(\d+)-(\d+)\.diff$", name)
        if m and int(m.group(1)) <= bid <= int(m.group(2)):
            out.append(name)
    return out


def patch_paths(patch: bytes) -> set[str]:
    """Files a unified diff touches, without their a/ b/ prefixes."""
    found = set()
    for line in patch.decode("utf-8", "replace").splitlines():
        if line.startswith(("--- ", "+++ ")):
            p = line[4:].split("\t")[0].strip()
            if p != "/dev/null":
                found.add(p.split("/", 1)[1] if p[:2] in ("a/", "b/") else p)
    return found


def apply_with_compile_errors(repo: Path, d4j: Path, spec: CaseSpec, src: Path,
                              tmp: Path) -> tuple[str | None, list[str]]:
    """Defects4J applies in-range compile-errors patches to `fixed` before src.patch. We only
    do so when src.patch does not apply alone (Lang-48): first those sharing a file with
    src.patch, then all in range."""
    names = compile_error_patches(d4j, spec.project, spec.d4j_id)
    if not names:
        return None, []
    base = f"framework/projects/{spec.project}/compile-errors"
    texts = {n: d4j_file(d4j, f"{base}/{n}") for n in names}
    wanted = patch_paths(src.read_bytes())
    sharing = [n for n in names if patch_paths(texts[n]) & wanted]
    for group in (sharing, names):
        if not group:
            continue
        snapshot = git(["diff", "--binary", "--full-index"], cwd=repo).stdout
        applied = []
        for n in group:
            p = tmp / n
            p.write_bytes(texts[n])
            if try_apply(repo, p, []):
                applied.append(n)
        how = apply_src_patch(repo, src) if applied else None
        if how:
            return how, applied
        restore(repo, snapshot)
    return None, []


def restore(repo: Path, snapshot: bytes) -> None:
    """Back to HEAD plus `snapshot` (a diff of tracked files); untracked files are kept."""
    git(["checkout", "-q", "--", "."], cwd=repo)
    if snapshot.strip():
        git(["apply", "--binary", "-"], cwd=repo, stdin=snapshot)


# --- checks -------------------------------------------------------------------------


def verify(repo: Path, spec: CaseSpec, st: CaseStatus) -> list[str]:
    """Problems that would make the case unfaithful; also fills counts into `st`."""
    problems = []
    head = git_out(["rev-parse", "HEAD"], cwd=repo).strip()
    if head != spec.buggy:
        problems.append(f"HEAD is {head}, not buggy")
    refs = git_out(["for-each-ref", "--format=%(refname) %(objecttype)"], cwd=repo).splitlines()
    odd = [r for r in refs if r != f"refs/heads/{BRANCH} commit"
           and not (r.startswith("refs/replace/") and r.endswith(" blob"))]
    if odd:
        problems.append(f"unexpected refs {odd}")
    if git(["remote"], cwd=repo).stdout.strip():
        problems.append("a remote is configured")
    st.commits = int(git_out(["rev-list", "--count", "HEAD"], cwd=repo))
    everything = int(git_out(["rev-list", "--count", "--all", "--reflog"], cwd=repo))
    if everything != st.commits:
        problems.append(f"{everything} commits reachable from all refs, {st.commits} from HEAD")
    if git(["cat-file", "-e", f"{spec.fixed}^{{commit}}"], cwd=repo, check=False).returncode == 0:
        problems.append("fixed commit is present in the object store")
    reach = git(["merge-base", "--is-ancestor", spec.bic, "HEAD"], cwd=repo, check=False)
    st.bic_reachable = reach.returncode == 0
    if st.bic_reachable:
        st.bic_distance = int(git_out(["rev-list", "--count", f"{spec.bic}..HEAD"], cwd=repo))
    status = git(["status", "--porcelain", "-z", "--untracked-files=all"], cwd=repo).stdout
    st.dirty_files = len([e for e in status.split(b"\0") if e])
    return problems


# --- one case -----------------------------------------------------------------------


def new_status(spec: CaseSpec, cases_dir: Path) -> CaseStatus:
    return CaseStatus(
        case_id=spec.case_id, project=spec.project, d4j_id=spec.d4j_id, upstream=spec.upstream,
        bic=spec.bic, buggy=spec.buggy, fixed=spec.fixed,
        repo=str(cases_dir / spec.case_id), trace=str(cases_dir / f"{spec.case_id}.trace"),
    )


def build_case(spec: CaseSpec, cases_dir: Path, mirrors: Path, d4j: Path) -> CaseStatus:
    st = new_status(spec, cases_dir)
    repo = Path(st.repo)
    start = time.monotonic()
    shutil.rmtree(repo, ignore_errors=True)
    try:
        mirror = find_mirror(mirrors, spec.upstream)
        st.absent_blobs = fetch_buggy(repo, mirror, spec.buggy)
        apply_fixed_tree(repo, mirror, spec.buggy, spec.fixed)
        Path(st.trace).write_bytes(
            d4j_file(d4j, f"framework/projects/{spec.project}/trigger_tests/{spec.d4j_id}"))
        st.patch, st.compile_errors = apply_reverse_patch(repo, d4j, spec)
        if not st.patch:
            st.reason = "src.patch does not apply (-p1/-p0/-p2, with and without --ignore-whitespace)"
        problems = verify(repo, spec, st)
        if problems:
            st.reason = "; ".join(filter(None, [st.reason, *problems]))
        st.built = not st.reason
    except (RuntimeError, FileNotFoundError, OSError) as exc:
        st.reason = str(exc)
    st.seconds = round(time.monotonic() - start, 2)
    return st


def apply_reverse_patch(repo: Path, d4j: Path, spec: CaseSpec) -> tuple[str, list[str]]:
    with tempfile.TemporaryDirectory(prefix="rca-bench-") as tmpdir:
        tmp = Path(tmpdir)
        src = tmp / f"{spec.d4j_id}.src.patch"
        src.write_bytes(d4j_file(d4j, f"framework/projects/{spec.project}/patches/{spec.d4j_id}.src.patch"))
        how = apply_src_patch(repo, src)
        if how:
            return how, []
        how, applied = apply_with_compile_errors(repo, d4j, spec, src, tmp)
        return how or "", applied


# --- driver ---------------------------------------------------------------------------


def status_path(cases_dir: Path, case_id: str) -> Path:
    return cases_dir / f"{case_id}.json"


def load_status(cases_dir: Path, case_id: str) -> dict | None:
    path = status_path(cases_dir, case_id)
    return json.loads(path.read_text()) if path.exists() else None


def is_done(cases_dir: Path, spec: CaseSpec) -> bool:
    st = load_status(cases_dir, spec.case_id)
    return bool(st and st.get("built") and st.get("buggy") == spec.buggy
                and (cases_dir / spec.case_id / ".git").is_dir())


def write_index(bench_dir: Path, specs: list[CaseSpec]) -> list[dict]:
    """`<dir>/cases.json`: the status of every case attempted so far, in CSV order."""
    cases_dir = bench_dir / "cases"
    entries = [st for s in specs if (st := load_status(cases_dir, s.case_id))]
    doc = {"cases": entries, "built": sum(1 for e in entries if e["built"]), "total": len(specs)}
    tmp = bench_dir / "cases.json.tmp"
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    tmp.replace(bench_dir / "cases.json")
    return entries


def run_one(spec: CaseSpec, cases_dir: Path, mirrors: Path, d4j: Path, label: str) -> CaseStatus:
    st = build_case(spec, cases_dir, mirrors, d4j)
    status_path(cases_dir, spec.case_id).write_text(json.dumps(asdict(st), indent=1) + "\n")
    extra = f" compile-errors={','.join(st.compile_errors)}" if st.compile_errors else ""
    if st.built:
        log(f"{label} {spec.case_id}: built in {st.seconds}s, {st.commits} commits, "
            f"patch {st.patch}{extra}, {st.dirty_files} dirty paths, bic {st.bic_distance} back")
    else:
        log(f"{label} {spec.case_id}: FAILED in {st.seconds}s: {st.reason}")
    if st.bic_reachable is False:
        log(f"{label} {spec.case_id}: WARNING bic {spec.bic} is not an ancestor of buggy")
    return st


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, default=default_bench_dir(),
                    help="cache directory (default $RCA_BENCH_DIR or ~/.cache/rca-bench)")
    ap.add_argument("--mirrors", type=Path, default=DEFAULT_MIRRORS,
                    help="where fetch put the mirrors (owner+name/repo)")
    ap.add_argument("--csv", type=Path, default=default_csv(), help="case list")
    ap.add_argument("--only", help="comma-separated case ids or project names")
    ap.add_argument("--force", action="store_true", help="rebuild cases already built")
    ap.add_argument("--jobs", type=int, default=1, help="cases built in parallel")
    return ap.parse_args(argv)


def check_dir(bench_dir: Path) -> None:
    resolved = bench_dir.resolve()
    if resolved == PROJECT_ROOT or PROJECT_ROOT in resolved.parents:
        raise SystemExit(f"refusing to build cases inside the project: {resolved}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    check_dir(args.dir)
    cases_dir = args.dir / "cases"
    cases_dir.mkdir(parents=True, exist_ok=True)
    specs = load_specs(args.csv)
    only = parse_only(args.only)
    todo = [s for s in specs if selected(s.case_id, s.project, only)]
    d4j = find_mirror(args.mirrors, D4J_REPO)
    pending = [s for s in todo if args.force or not is_done(cases_dir, s)]
    log(f"{len(todo)} cases selected, {len(todo) - len(pending)} already built, building {len(pending)} into {cases_dir}")
    start = time.monotonic()
    labels = {s.case_id: f"[{i + 1}/{len(pending)}]" for i, s in enumerate(pending)}
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        list(pool.map(lambda s: run_one(s, cases_dir, args.mirrors, d4j, labels[s.case_id]), pending))
    entries = write_index(args.dir, specs)
    chosen = [e for e in entries if selected(e["case_id"], e["project"], only)]
    failed = [e for e in chosen if not e["built"]]
    unreachable = [e["case_id"] for e in chosen if e.get("bic_reachable") is False]
    log(f"done in {time.monotonic() - start:.1f}s: {len(chosen) - len(failed)}/{len(chosen)} selected cases built; "
        f"index {args.dir / 'cases.json'}")
    for e in failed:
        log(f"  failed {e['case_id']}: {e['reason']}")
    if unreachable:
        log(f"  bic not reachable from buggy: {', '.join(unreachable)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
