"""Where built models live, and the manifest that proves a model directory is the one we built.

Layout of `<root>/<name>/` (root: `$RCA_MODEL_DIR`, else `~/.cache/rca-lsp/models`):

    manifest.json          source, versions, model shape, sha256 and size of every file below
    tokenizer.json         the tokenizer, taken from the GGUF at export time
    embed.npy              the token embedding [vocab, hidden], float32; the LM head where it is tied
    head.npy               the LM head [vocab, hidden], where it is not tied to the embedding
    fp32/model.onnx        the exported transformer body with a KV cache (inputs_embeds -> hidden)
    int8/model.onnx        the same with int8 weight products (u8 x s8 MatMulInteger), for CPU
    fp16/model.onnx        half precision, for CUDA

Loading hashes the files it is about to use and refuses a mismatch with an error naming the file:
a wrong or half-written model is never scored with silently. A file hashed once is trusted while
its size and modification time stay what they were (`VERIFIED`, as git trusts its index), so a
load does not read 200 MB to hash them again. Standard library only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from rca_lsp.errors import ModelError, install_hint
from rca_lsp.records import json_kind

MANIFEST = "manifest.json"
VERIFIED = ".verified.json"  # rel -> [sha256, bytes, mtime_ns] of files whose hash was checked
RACY_NS = 2 * 10**9  # as git's racy check: a stamp is kept only for files older than this
FORMAT = 5  # 2: the graph is the body (inputs_embeds -> hidden), embedding and head beside it;
# 3: the int8 variant is block-wise (MatMulNBits): 2's lost what tuning gave; 4: it is u8 x s8
# MatMulInteger with activations per row in two passes (ranker/quantise.py): 3's scores, faster;
# 5: one pass where it is enough, a norm's outlier channels in fp32 (quantise.plan): faster again
DEFAULT_MODEL = "smollm2-135m-instruct"
VARIANTS = ("fp32", "int8", "fp16")
BUILD_HINT = f"run `rca model build` (needs the export extra: {install_hint('export')})"
REBUILD_HINT = "rebuild with `rca model build --force`"


def model_root() -> Path:
    """`$RCA_MODEL_DIR` made absolute (a relative one is said where it was looked for, not as typed:
    the editor's server runs in another folder), else the cache. A file on the way is said here:
    a build otherwise loaded the base for 20 s before failing to make the folder."""
    env = os.environ.get("RCA_MODEL_DIR")
    root = Path(env).expanduser().absolute() if env else Path.home() / ".cache" / "rca-lsp" / "models"
    for folder in (root, *root.parents):
        if folder.exists():
            if not folder.is_dir():
                raise ModelError(f"the model folder {root} cannot be used: {folder} is not a directory",
                                 hint="point RCA_MODEL_DIR at a directory (it is made when missing)")
            break
    return root


def model_dir(name: str = DEFAULT_MODEL) -> Path:
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise ModelError(f"invalid model name {name!r}")
    return model_root() / name


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Manifest:
    name: str
    source: dict
    versions: dict[str, str]
    shape: dict  # num_layers, num_kv_heads, head_dim, vocab_size, bos_id, eos_id
    variants: dict[str, list[str]]  # variant -> files it needs (relative paths), tokenizer excluded
    files: dict[str, dict]  # relative path -> {"sha256": ..., "bytes": ...}
    licence: str = ""
    extra: dict = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, "name": self.name, "licence": self.licence, "source": self.source,
                           "versions": self.versions, "shape": self.shape, "variants": self.variants,
                           "files": self.files, "extra": self.extra}, indent=2, sort_keys=True)

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        """The manifest, its shape checked: a field of the wrong JSON type is a ModelError naming it,
        never an AttributeError where it is first used."""
        path = directory / MANIFEST
        if not path.is_file():
            from rca_lsp.ranker.buildlock import held_by

            running = held_by(directory)
            if running is not None:  # its work folder is no interrupted build's: said as what it is
                raise ModelError(f"no model at {directory} yet: `rca model build` is building it ({running})",
                                 hint="wait for the build to finish")
            left = building(directory)
            if left.is_dir():  # a killed build: say where its hundreds of MB are, and what removes them
                raise ModelError(f"no model at {directory} (no {MANIFEST}); an interrupted build left {left}",
                                 hint="`rca model build` removes it and builds again")
            raise ModelError(f"no model at {directory} (no {MANIFEST})", hint=BUILD_HINT)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ModelError(f"{path} is not a valid model manifest: {exc}", hint=REBUILD_HINT) from exc
        if not isinstance(doc, dict):
            raise ModelError(f"{path} is not a valid model manifest: its JSON is {json_kind(doc)}, not an object",
                             hint=REBUILD_HINT)
        found = doc.get("format")
        if found != FORMAT:  # said as found ('4', a string, is not 4); a newer one is not rebuilt down
            newer = isinstance(found, int) and not isinstance(found, bool) and found > FORMAT
            raise ModelError(f"{path} has manifest format {found!r}, expected {FORMAT}"
                             + (" (it was built by a newer rca-lsp)" if newer else ""),
                             hint=("upgrade rca-lsp, or " if newer else "") + rebuild_hint(doc.get("extra")))
        _check(path, doc)
        return cls(doc["name"], doc["source"], doc["versions"], doc["shape"], doc["variants"],
                   doc["files"], doc.get("licence", ""), doc.get("extra", {}))

    def pick(self, preferred: str) -> str:
        """The variant scoring uses where `preferred` is wanted: it, else int8, else the first built."""
        if preferred in self.variants:
            return preferred
        return "int8" if "int8" in self.variants else next(iter(self.variants))


# field -> its JSON type and whether it may be left out
_FIELDS: dict[str, tuple[type, bool]] = {"name": (str, False), "source": (dict, False), "versions": (dict, False),
                                         "shape": (dict, False), "variants": (dict, False), "files": (dict, False),
                                         "licence": (str, True), "extra": (dict, True)}


def _check(path: Path, doc: dict) -> None:
    def bad(field: str, what: str) -> ModelError:
        return ModelError(f"{path} is not a valid model manifest: {field} {what}", hint=rebuild_hint(doc.get("extra")))

    for key, (kind, optional) in _FIELDS.items():
        if key not in doc:
            if optional:
                continue
            raise bad(f"{key!r}", "is missing")
        if not isinstance(doc[key], kind):
            raise bad(f"{key!r}", f"is {json_kind(doc[key])}, not {json_kind(kind())}")
    if not doc["variants"]:
        raise bad("'variants'", "names no variant")
    for variant, files in doc["variants"].items():
        if not isinstance(files, list) or not files or not all(isinstance(f, str) for f in files):
            raise bad(f"'variants' entry {variant!r}", "is not a list of file names")
    for rel, entry in doc["files"].items():
        if not (isinstance(entry, dict) and isinstance(entry.get("sha256"), str) and _whole(entry.get("bytes"))):
            raise bad(f"'files' entry {rel!r}", 'is not {"sha256": ..., "bytes": ...}')
    for key in ("num_kv_heads", "head_dim"):
        if not _whole(doc["shape"].get(key)):
            raise bad(f"'shape' entry {key!r}", "is not a whole number")


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def rebuild_hint(extra: object) -> str:
    """How to build this model again: a tuned one (`extra` records its adapter) with its adapter,
    since `rca model build --force` alone builds the base model in its place."""
    adapter = extra.get("adapter") if isinstance(extra, dict) else None
    if not isinstance(adapter, dict):
        return REBUILD_HINT
    digest = adapter.get("sha256")
    return ("rebuild with `rca model build --force --adapter DIR`, DIR the LoRA adapter it was tuned with"
            + (f" (sha256 {digest[:12]}...)" if isinstance(digest, str) else "")
            + ": without --adapter the base model replaces it")


def building(directory: Path) -> Path:
    """Where `rca model build` writes `directory` before moving it in place (export.build)."""
    return directory.with_name(f".{directory.name}.building")


def describe_files(directory: Path, relpaths: list[str]) -> dict[str, dict]:
    return {rel: {"sha256": sha256_file(directory / rel), "bytes": (directory / rel).stat().st_size}
            for rel in sorted(relpaths)}


def verify(directory: Path, manifest: Manifest, relpaths: list[str] | None = None, rehash: bool = False) -> None:
    """Hash `relpaths` (default: every file of the manifest); a missing or changed file is an error
    naming it. A file whose hash was checked before and whose size and mtime are unchanged is not
    hashed again, unless `rehash` (`rca model info --verify`)."""
    seen = {} if rehash else _verified(directory)
    changed = False
    for rel in relpaths if relpaths is not None else sorted(manifest.files):
        expected = manifest.files.get(rel)
        path = directory / rel
        if expected is None:
            raise ModelError(f"model file {path} is not listed in {directory / MANIFEST}", hint=BUILD_HINT)
        if not path.is_file():
            raise ModelError(f"model file {path} is missing", hint=rebuild_hint(manifest.extra))
        stat = path.stat()
        stamp = [expected["sha256"], stat.st_size, stat.st_mtime_ns]
        if seen.get(rel) == stamp:
            continue
        if stat.st_size != expected["bytes"] or sha256_file(path) != expected["sha256"]:
            raise ModelError(f"model file {path} does not match its sha256 in {directory / MANIFEST}",
                             hint=f"it was changed or half-written: {rebuild_hint(manifest.extra)}")
        if time.time_ns() - stat.st_mtime_ns > RACY_NS:  # a file written just now may change within its mtime's tick
            seen[rel] = stamp
            changed = True
    if changed:
        _remember(directory, seen)


def _verified(directory: Path) -> dict:
    try:
        doc = json.loads((directory / VERIFIED).read_text(encoding="utf-8"))
        return doc if isinstance(doc, dict) else {}
    except (OSError, ValueError):
        return {}


def _remember(directory: Path, seen: dict) -> None:
    """Write the stamps atomically; a directory that cannot be written just hashes again next time."""
    tmp = directory / f"{VERIFIED}.{os.getpid()}.tmp"
    try:
        tmp.write_text(json.dumps(seen, sort_keys=True), encoding="utf-8")
        os.replace(tmp, directory / VERIFIED)
    except OSError:
        with contextlib.suppress(OSError):  # a read-only file system refuses even this (EROFS, not ENOENT)
            tmp.unlink(missing_ok=True)


def present(directory: Path, manifest: Manifest, relpaths: list[str]) -> None:
    """What `rca model info` checks without hashing: each file there, of the size the manifest
    says (a missing or truncated file was reported as the variant scoring would use)."""
    for rel in relpaths:
        path = directory / rel
        expected = manifest.files.get(rel)
        if not path.is_file():
            raise ModelError(f"model file {path} is missing", hint=rebuild_hint(manifest.extra))
        if expected is not None and path.stat().st_size != expected.get("bytes"):
            raise ModelError(f"model file {path} has {path.stat().st_size} bytes, its manifest says "
                             f"{expected.get('bytes')}", hint=f"it was changed or half-written: {rebuild_hint(manifest.extra)}")


def variant_files(manifest: Manifest, variant: str) -> list[str]:
    if variant not in manifest.variants:
        raise ModelError(f"model {manifest.name} has no {variant} variant (it has {', '.join(manifest.variants)})")
    return ["tokenizer.json", *manifest.variants[variant]]
