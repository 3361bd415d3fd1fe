"""Make a git repository of N synthetic commits quickly, through one `git fast-import` stream.

    python scripts/make_synthetic_repo.py N DIR [--seed 1] [--no-checkout]

The history looks like a small Java + Python project: classes and modules with methods and
functions, where each commit edits a few method bodies, adds or removes a method, and now and
then adds, renames (with an edit) or deletes a file. Every 40th commit or so is a merge of a
short side branch that worked on other files in parallel. Four authors, one hour apart.
Deterministic for a given seed. 100,000 commits take about a minute.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import time
from pathlib import Path

AUTHORS = [("Alice", "alice@example.com"), ("Bob", "bob@example.com"),
           ("Carol", "carol@example.com"), ("Dave", "dave@example.com")]
WORDS = ["order", "price", "total", "user", "cart", "item", "tax", "ship", "stock", "line", "rate",
         "count", "cache", "parse", "load", "save", "check", "merge", "split", "token", "queue"]
MAX_FILES = 400
VERBS = ["fix", "add", "remove", "refactor", "simplify", "speed up", "clean up", "handle", "rename"]


class SourceFile:
    """A Java class or Python module as a list of methods, each a name and body lines."""

    def __init__(self, path: str, rng: random.Random) -> None:
        self.path = path
        self.rng = rng
        self.methods: list[tuple[str, list[str]]] = []
        for _ in range(rng.randint(2, 6)):
            self.add_method()

    @property
    def java(self) -> bool:
        return self.path.endswith(".java")

    def _name(self) -> str:
        a, b = self.rng.choice(WORDS), self.rng.choice(WORDS)
        name = a + b.capitalize() if self.java else f"{a}_{b}"
        taken = {m for m, _ in self.methods}
        return name if name not in taken else f"{name}{len(self.methods)}"

    def _stmt(self) -> str:
        w, v = self.rng.choice(WORDS), self.rng.randint(0, 999)
        if self.java:
            return self.rng.choice([f"int {w}{v} = x + {v};", f"x = x * {v % 7 + 1} + {v};",
                                    f"if (x > {v}) {{ x -= {v}; }}", f"log(\"{w} \" + x);"])
        return self.rng.choice([f"{w}_{v} = x + {v}", f"x = x * {v % 7 + 1} + {v}",
                                f"if x > {v}: x -= {v}", f"log('{w}', x)"])

    def add_method(self) -> None:
        body = [self._stmt() for _ in range(self.rng.randint(1, 6))]
        self.methods.insert(self.rng.randint(0, len(self.methods)), (self._name(), body))

    def edit(self) -> None:
        op = self.rng.random()
        if op < 0.12 or not self.methods:
            self.add_method()
        elif op < 0.18 and len(self.methods) > 2:
            self.methods.pop(self.rng.randrange(len(self.methods)))
        else:
            name, body = self.methods[self.rng.randrange(len(self.methods))]
            at = self.rng.randint(0, len(body))
            if self.rng.random() < 0.5 and len(body) > 1:
                body[min(at, len(body) - 1)] = self._stmt()
            elif len(body) < 30:
                body.insert(at, self._stmt())
            else:
                body.pop(at % len(body))

    def render(self) -> bytes:
        stem = self.path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        if self.java:
            package = ".".join(self.path.split("/")[3:-1])
            out = [f"package {package};", "", f"public class {stem} {{"]
            for name, body in self.methods:
                out += [f"    public int {name}(int x) {{", *(f"        {s}" for s in body),
                        "        return x;", "    }", ""]
            out.append("}")
        else:
            out = [f'"""The {stem} module."""', "", "from app.util import log", ""]
            for name, body in self.methods:
                out += [f"def {name}(x):", *(f"    {s}" for s in body), "    return x", "", ""]
        return ("\n".join(out).rstrip("\n") + "\n").encode()


class Generator:
    def __init__(self, out, seed: int) -> None:
        self.out = out
        self.rng = random.Random(seed)
        self.files: dict[str, SourceFile] = {}
        self.mark = 0
        self.clock = 1_500_000_000
        self.commits = 0

    def _new_path(self) -> str:
        rng = self.rng
        tries = 0
        while True:
            tries += 1
            pkg = rng.choice(["core", "api", "util", "io", "model", "service"])
            name = rng.choice(WORDS).capitalize() + rng.choice(["Service", "Parser", "Store", "Util", "Model", ""])
            if tries > 8:
                name += str(rng.randrange(1000))
            if rng.random() < 0.6:
                path = f"src/main/java/org/acme/{pkg}/{name}.java"
            else:
                path = f"app/{pkg}/{name.lower()}.py"
            if path not in self.files:
                return path

    def _data(self, payload: bytes) -> None:
        self.out.write(b"data %d\n" % len(payload))
        self.out.write(payload)
        self.out.write(b"\n")

    def _commit(self, branch: str, parent: int | None, merge: int | None, ops: list[bytes],
                files: dict[str, SourceFile]) -> int:
        self.mark += 1
        self.clock += 3600
        self.commits += 1
        name, email = AUTHORS[self.rng.randrange(len(AUTHORS))]
        touched = sorted({op.split(b" ")[-1].decode() for op in ops})[:2]
        subject = f"{self.rng.choice(VERBS).capitalize()} {' and '.join(p.rsplit('/', 1)[-1] for p in touched) or 'build'}"
        if merge is not None:
            subject = f"Merge branch '{branch}'"
        self.out.write(f"commit refs/heads/{'main' if merge is not None else branch}\nmark :{self.mark}\n".encode())
        self.out.write(f"author {name} <{email}> {self.clock} +0000\n".encode())
        self.out.write(f"committer {name} <{email}> {self.clock} +0000\n".encode())
        self._data(f"{subject}\n\nCommit {self.commits} of the synthetic history.\n".encode())
        if parent is not None:
            self.out.write(f"from :{parent}\n".encode())
        if merge is not None:
            self.out.write(f"merge :{merge}\n".encode())
        for op in ops:
            if op.startswith(b"M "):
                path = op.split(b" ", 3)[3].decode()
                self.out.write(op + b"\n")
                self._data(files[path].render())
            else:
                self.out.write(op + b"\n")
        return self.mark

    def _change(self, files: dict[str, SourceFile], avoid: set[str]) -> list[bytes]:
        """One commit's worth of edits to `files` (in place), never touching `avoid`."""
        rng = self.rng
        ops: list[bytes] = []
        free = [p for p in files if p not in avoid]
        r = rng.random()
        if len(files) > MAX_FILES and r < 0.06:
            r = 0.10  # a project of a few hundred files: past that, deletions replace additions
        if r < 0.06 or len(free) < 3:
            path = self._new_path()
            while path in files or path in avoid:
                path = self._new_path()
            files[path] = SourceFile(path, rng)
            ops.append(f"M 100644 inline {path}".encode())
        elif r < 0.09:
            old = rng.choice(free)
            new = self._new_path()
            if new.endswith(".java") != old.endswith(".java") or new in avoid or new in files:
                new = old.rsplit("/", 1)[0] + "/Renamed" + old.rsplit("/", 1)[1]
                if new in files or new in avoid:
                    return self._change(files, avoid)
            src = files.pop(old)
            moved = SourceFile.__new__(SourceFile)
            moved.path, moved.rng, moved.methods = new, rng, src.methods
            files[new] = moved
            if rng.random() < 0.5:
                moved.edit()
            ops.append(f"R {old} {new}".encode())
            ops.append(f"M 100644 inline {new}".encode())
        elif r < 0.11 and len(free) > 8:
            path = rng.choice(free)
            del files[path]
            ops.append(f"D {path}".encode())
        else:
            for path in rng.sample(free, min(len(free), rng.choice([1, 1, 1, 2, 2, 3]))):
                for _ in range(rng.randint(1, 3)):
                    files[path].edit()
                ops.append(f"M 100644 inline {path}".encode())
        return ops

    def run(self, n: int) -> None:
        rng = self.rng
        head: int | None = None
        while self.commits < n:
            left = n - self.commits
            if head is not None and left >= 6 and rng.random() < 1 / 40:
                head = self._merge_round(head, left)
                continue
            head = self._commit("main", head, None, self._change(self.files, set()), self.files)

    def _merge_round(self, head: int, left: int) -> int:
        """A side branch off `head` and main work in parallel on other files, then a merge."""
        rng = self.rng
        side_files = {p: self._clone(f) for p, f in self.files.items()}
        reserved = set(rng.sample(sorted(self.files), min(3, len(self.files))))
        branch = f"topic-{self.mark}"
        side = head
        budget = left - 1
        side_n = min(rng.randint(1, 3), budget - 1)
        main_n = min(rng.randint(1, 3), budget - side_n)
        side_changed: set[str] = set()
        for _ in range(side_n):
            sub = {p: side_files[p] for p in reserved if p in side_files}
            ops = [op for op in self._edit_only(sub)]
            side_changed |= {op.split(b" ")[-1].decode() for op in ops}
            side = self._commit(branch, side, None, ops, side_files)
        for _ in range(main_n):
            head = self._commit("main", head, None, self._change(self.files, reserved), self.files)
        ops = []
        for path in sorted(side_changed):
            self.files[path] = side_files[path]
            ops.append(f"M 100644 inline {path}".encode())
        head = self._commit(branch, head, side, ops, self.files)
        self.out.write(f"reset refs/heads/{branch}\nfrom 0000000000000000000000000000000000000000\n\n".encode())
        return head

    def _edit_only(self, files: dict[str, SourceFile]) -> list[bytes]:
        ops = []
        for path in self.rng.sample(sorted(files), min(len(files), self.rng.randint(1, 2))):
            files[path].edit()
            ops.append(f"M 100644 inline {path}".encode())
        return ops

    def _clone(self, f: SourceFile) -> SourceFile:
        c = SourceFile.__new__(SourceFile)
        c.path, c.rng, c.methods = f.path, f.rng, [(m, list(b)) for m, b in f.methods]
        return c


def make(n: int, folder: Path, seed: int = 1, checkout: bool = True) -> Path:
    """Create `folder` as a git repository with `n` commits on main; returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(folder)], check=True)
    proc = subprocess.Popen(["git", "fast-import", "--quiet", "--done"], cwd=folder, stdin=subprocess.PIPE)
    assert proc.stdin
    gen = Generator(proc.stdin, seed)
    gen.run(n)
    proc.stdin.write(b"done\n")
    proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError("git fast-import failed")
    if checkout:
        subprocess.run(["git", "-C", str(folder), "reset", "-q", "--hard", "main"], check=True)
    return folder


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("n", type=int)
    ap.add_argument("dir", type=Path)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-checkout", action="store_true", help="leave the work tree empty")
    args = ap.parse_args()
    start = time.perf_counter()
    make(args.n, args.dir, args.seed, checkout=not args.no_checkout)
    count = subprocess.run(["git", "-C", str(args.dir), "rev-list", "--count", "HEAD"], capture_output=True,
                           text=True, check=True).stdout.strip()
    print(f"{args.dir}: {count} commits in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
