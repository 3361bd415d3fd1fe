#!/usr/bin/env python3
"""Run each dev case's failing tests once under JaCoCo and keep the report (`rca suspects --coverage`).

What a developer with the failing test in front of them would run: the test, with coverage. For each
case built by bench_cases.py, its work tree (buggy, plus the fix's tests, uncommitted) is copied to a
scratch folder, the trace's failing test classes are compiled with the code they reach
(`javac --release 8 -sourcepath <every source root>`: only what the tests need, so a file elsewhere
that no longer compiles does not stop the run), the failing test methods run once on the JUnit
Platform (JUnit 3, 4 and 5 tests alike) under the JaCoCo agent, and the execution data becomes a JaCoCo
XML report, `<dir>/coverage/<case>.xml`, with `<case>.json` saying what ran and how it ended.

Needs a JDK and Debian's jars (no Maven: nothing outside PyPI, npm and Debian is reachable here):
    apt-get install openjdk-17-jdk-headless libjacoco-java junit4 junit5 libhamcrest-java \
        libeasymock-java libcommons-io-java libcommons-lang-java libcommons-lang3-java libmockito-java libh2-java ecj

    python scripts/bench_jacoco.py --jobs 2            # every built dev case
    python scripts/bench_jacoco.py --only Jsoup-1,Cli
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import coverage_args, coverage_runs, default_bench_dir, load_cases, parse_only  # noqa: E402

JAVA = Path("/usr/share/java")
# what the dev projects' tests import, as Debian packages it
TEST_JARS = ["junit4.jar", "hamcrest-all.jar", "easymock.jar", "objenesis.jar", "commons-io.jar",
             "junit-jupiter-api.jar", "junit-jupiter-params.jar", "opentest4j.jar", "apiguardian-api.jar",
             "commons-lang.jar", "commons-lang3.jar", "mockito-core.jar", "byte-buddy.jar", "byte-buddy-agent.jar",
             "h2.jar"]
REPORT_JARS = ["org.jacoco.core.jar", "org.jacoco.report.jar", "asm.jar", "asm-commons.jar", "asm-tree.jar"]
CONSOLE = JAVA / "junit-platform-console-standalone.jar"
# JDK 17 closes what old tests reflect into; Defects4J runs them on Java 8
OPENS = [f"--add-opens=java.base/{p}=ALL-UNNAMED" for p in
         ("java.lang", "java.util", "java.text", "java.lang.reflect", "java.io", "java.math", "java.net",
          "java.util.concurrent", "java.util.concurrent.atomic")]

# what `jacococli report --xml` does, through org.jacoco.report (Debian ships no jacococli jar)
REPORTER = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "jacoco" / "tools" / "JacocoXml.java"


def jars(names: list[str]) -> list[str]:
    return [str(JAVA / n) for n in names if (JAVA / n).exists()]


def not_shadowing(libs: list[str], roots: list[Path]) -> list[str]:
    """The jars that define no package the sources define (commons-lang's own cases compile from source,
    where an older jsoup borrows commons-lang from the jar)."""
    kept = []
    for lib in libs:
        with zipfile.ZipFile(lib) as z:
            packages = {n.rsplit("/", 1)[0] for n in z.namelist() if n.endswith(".class") and "/" in n}
        if not any(any((r / p).is_dir() and any((r / p).glob("*.java")) for r in roots) for p in packages):
            kept.append(lib)
    return kept


def tools(home: Path) -> tuple[Path, Path]:
    """The JaCoCo agent (Debian ships it inside org.jacoco.agent.jar) and the compiled report writer."""
    home.mkdir(parents=True, exist_ok=True)
    agent = home / "jacocoagent.jar"
    if not agent.exists():
        with zipfile.ZipFile(JAVA / "org.jacoco.agent.jar") as z:
            agent.write_bytes(z.read("jacocoagent.jar"))
    if not (home / "JacocoXml.class").exists():
        subprocess.run(["javac", "-nowarn", "-cp", ":".join(jars(REPORT_JARS)), "-d", str(home), str(REPORTER)],
                       check=True)
    return agent, home


PACKAGE = re.compile(rb"^\s*package\s+([\w.]+)\s*;", re.M)


def source_roots(tree: Path) -> list[Path]:
    """Every folder that roots a package (a file's folder less its package's path), most files first."""
    counts: dict[Path, int] = {}
    for f in tree.rglob("*.java"):
        m = PACKAGE.search(f.read_bytes()[:4096])
        parts = m.group(1).decode().split(".") if m else []
        root = f.parent
        if parts and list(root.parts[-len(parts):]) == parts:
            root = Path(*root.parts[:-len(parts)])
        counts[root] = counts.get(root, 0) + 1
    return sorted(counts, key=lambda r: -counts[r])


def failing_tests(trace: str) -> list[tuple[str, str]]:
    return list(dict.fromkeys(re.findall(r"^--- ([\w.$]+)::(\w+)", trace, re.M)))


def exceptions(trace: str) -> list[str]:
    """The exception class each failing test's block of the trace starts with (its line after `---`)."""
    return [m.group(1).split(".")[-1] for m in re.finditer(r"^--- .*\n([\w.$]+)", trace, re.M)]


def compile_tests(files: list[str], roots: list[Path], libs: list[str], classes: Path, work: Path,
                  timeout: float) -> tuple[str | None, list[str]]:
    """The failing test classes and only the code they reach, into `classes`: the compiler that
    did it (None: none could) and each failed compiler's errors. javac 17 reads Java 8 at the
    oldest; Eclipse's compiler (Debian's ecj) still reads the Java 1.4 of commons-lang 2 (raw
    `compareTo(Object)` and friends)."""
    compilers = [["javac", "--release", "8", "-implicit:class", "-encoding", "UTF-8"],
                 ["javac", "--release", "8", "-implicit:class", "-encoding", "ISO-8859-1"]]
    if shutil.which("ecj"):
        compilers.append(["ecj", "-1.4", "-encoding", "ISO-8859-1"])
    errors: list[str] = []
    for compiler in compilers:
        shutil.rmtree(classes, ignore_errors=True)
        classes.mkdir()
        run = subprocess.run([*compiler, "-nowarn", "-proc:none", "-d", str(classes), "-cp", ":".join(libs),
                              "-sourcepath", ":".join(map(str, roots)), *files],
                             cwd=work, capture_output=True, text=True, timeout=timeout)
        if run.returncode == 0:
            return " ".join(compiler), errors
        errors.append(f"{' '.join(compiler)}:\n{run.stderr[-1500:]}")
    return None, errors


def run_case(case: dict, out_dir: Path, agent: Path, reporter: Path, timeout: float) -> dict:
    cid = case["case_id"]
    status: dict = {"case": cid, "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
    trace = Path(case["trace"]).read_text(errors="replace")
    tests = failing_tests(trace)
    status["tests"] = [f"{c}#{m}" for c, m in tests]
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"jacoco-{cid}-") as tmp:
        work = Path(tmp) / "work"
        shutil.copytree(case["repo"], work, ignore=shutil.ignore_patterns(".git"))
        roots = source_roots(work)
        classes = Path(tmp) / "classes"
        files = []
        for cls, _ in tests:
            rel = Path(*cls.split("$")[0].split(".")).with_suffix(".java")
            found = [r / rel for r in roots if (r / rel).exists()]
            if found:
                files.append(str(found[0]))
        files = list(dict.fromkeys(files))
        if not files:
            status.update(result="no test source", seconds=round(time.monotonic() - t0, 1))
            return status
        libs = not_shadowing(jars(TEST_JARS), roots)
        compiler, errors = compile_tests(files, roots, libs, classes, work, timeout)
        if compiler is None:
            status.update(result="does not compile", seconds=round(time.monotonic() - t0, 1), javac=errors)
            return status
        status["compiler"] = compiler
        resources = [str(p) for p in (work / "src/test/resources", work / "src/main/resources") if p.is_dir()]
        exec_file = Path(tmp) / "jacoco.exec"
        prefixes = sorted({".".join(c.split(".")[:3]) for c, _ in tests})
        java = ["java", f"-javaagent:{agent}=destfile={exec_file},includes={':'.join(p + '.*' for p in prefixes)}",
                "-Duser.language=en", "-Duser.country=US", "-Dfile.encoding=UTF-8", *OPENS,
                "-jar", str(CONSOLE), "--disable-banner", "--details=summary", "--disable-ansi-colors",
                "-cp", ":".join([str(classes), *resources, *map(str, roots), *libs]),
                *[f"--select-method={c}#{m}" for c, m in tests]]
        env = {**os.environ, "TZ": "America/Los_Angeles", "LANG": "en_US.UTF-8"}
        try:
            run = subprocess.run(java, cwd=work, capture_output=True, text=True, timeout=timeout, env=env)
            output = run.stdout + run.stderr
        except subprocess.TimeoutExpired as e:
            got = e.stdout or b""
            output = f"timed out after {timeout} s\n" + (got.decode(errors="replace") if isinstance(got, bytes) else got)
        found_n = re.search(r"(\d+) tests found", output)
        failed_n = re.search(r"(\d+) tests failed", output)
        status.update(found=int(found_n.group(1)) if found_n else 0, failed=int(failed_n.group(1)) if failed_n else 0)
        # the traced exceptions seen again (JUnit 3's AssertionFailedError and JUnit 4's AssertionError are
        # the same failure: the trace was recorded with another JUnit runner)
        seen = [e for e in exceptions(trace) if e in output or
                (e in ("AssertionFailedError", "ComparisonFailure", "AssertionError") and
                 re.search(r"AssertionFailedError|ComparisonFailure|AssertionError", output))]
        status.update(traced_exceptions=exceptions(trace), seen_again=seen, output=output[-3000:])
        if not exec_file.exists():
            status.update(result="no execution data", seconds=round(time.monotonic() - t0, 1), output=output[-2000:])
            return status
        report = out_dir / f"{cid}.xml"
        subprocess.run(["java", "-cp", ":".join([str(reporter), *jars(REPORT_JARS)]), "JacocoXml", str(exec_file),
                        str(classes), str(roots[0]), str(report)], check=True, capture_output=True, timeout=timeout)
        result = "passed" if not status["failed"] else "failed as traced" if seen else "failed otherwise"
        status.update(result=result, report=str(report), seconds=round(time.monotonic() - t0, 1))
    return status


def main() -> int:
    args = coverage_args(__doc__.split("\n\n")[0], default_bench_dir(), jobs=True)
    if shutil.which("javac") is None or not CONSOLE.exists():
        sys.exit("needs a JDK and Debian's junit5, libjacoco-java and friends (see this script's docstring)")
    only = parse_only(args.only)
    cases = load_cases(args.dir, only)
    out_dir = args.dir / "coverage"
    agent, reporter = tools(args.dir / "jacoco-tools")
    counts = coverage_runs(cases, out_dir, lambda case: run_case(case, out_dir, agent, reporter, args.timeout),
                           args.force, args.jobs)
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
