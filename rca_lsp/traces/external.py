"""Which frames belong to libraries and runtimes rather than to the project.

Used by `resolve` (a path-like frame under site-packages, node_modules, the Go root or
the Rust toolchain is external even if its tail happens to match a tracked file) and
by the Java parser (a failing test is looked for among non-library frames).
"""

from __future__ import annotations

import re

from rca_lsp.types import Frame

# Substrings of a printed path (with `/` separators) that mean "not project code".
PATH_MARKERS = (
    "site-packages/", "dist-packages/", "/usr/lib/python", "/usr/local/lib/python",
    "/lib/python2.", "/lib/python3.", "<frozen ", "node:", "node_modules/",
    "/usr/local/go/src/", "/usr/lib/go", "$GOROOT/", "/hostedtoolcache/",
    "/rustc/", ".cargo/registry/", ".cargo/git/", ".rustup/toolchains/", "/usr/include/", "/usr/lib/",
    "/lib/x86_64-linux-gnu/", "/lib/aarch64-linux-gnu/", "/lib64/", "libc.so", "libc++", "libstdc++", "libasan",
    "libubsan", "libtsan", "/sysdeps/", "/lib/jvm/", "webpack/bootstrap",
)

# Toolchain folders whose names a project may use too (`src/pkg/mod/core.py`): Go's module cache
# holds each module at a version (`pkg/mod/github.com/x/y@v1.2.0/`), Rust's library only `.rs` files.
TOOLCHAIN_FOLDERS = re.compile(r"/pkg/mod/[^@]*@[^/]+/|/library/(?:std|core)/src/.*\.rs$")

# JVM packages of the runtime, the test frameworks and the build tools.
JVM_PREFIXES = (
    "java.", "javax.", "jdk.", "sun.", "com.sun.", "org.junit.", "junit.", "org.opentest4j.",
    "kotlin.", "kotlinx.", "scala.", "org.hamcrest.", "org.testng.", "org.gradle.",
    "org.apache.maven.surefire.", "org.apache.maven.plugin.surefire.", "worker.org.gradle.",
)

# Go standard-library packages whose frames sit around every panic and test.
GO_STD = ("runtime.", "testing.", "reflect.", "sync.", "internal/", "net/http.", "os.")

# Rust standard library, libtest and unwinding glue.
RUST_PREFIXES = (
    "std::", "core::", "alloc::", "test::", "<std::", "<core::", "<alloc::", "rust_begin_unwind",
    "__rust", "rust_panic",
)


def jvm_external(module: str | None) -> bool:
    """A JVM class of the JDK, Kotlin/Scala runtime or a test framework."""
    return bool(module and module.startswith(JVM_PREFIXES))


def path_external(file: str | None) -> bool:
    """A printed path inside an interpreter, package cache or toolchain."""
    if not file:
        return False
    f = file.replace("\\", "/")
    return any(marker in f for marker in PATH_MARKERS) or bool(TOOLCHAIN_FOLDERS.search(f))


def symbol_external(frame: Frame) -> bool:
    """A Go or Rust runtime function, whatever file it names.

    C runtime frames need no list: they name no tracked file, so they end up external.
    """
    qual = frame.qualname or frame.function or ""
    file = frame.file or ""
    if file.endswith(".go") and qual.startswith(GO_STD):
        return True
    return ("::" in qual or qual.startswith(("rust_", "__rust"))) and qual.startswith(RUST_PREFIXES)


def is_external(frame: Frame) -> bool:
    """Library or runtime by its own spelling (path, package, symbol); JVM frames aside."""
    return path_external(frame.file) or symbol_external(frame)
