"""The server's settings: one tree of keyword-only dataclasses with defaults.

They come from the client's `initializationOptions` and from `workspace/didChangeConfiguration`
(the `rca` section). Keys are camelCase as editors write them:

    {"top": 20, "ranker": "none" | "llm", "rerankTop": 20, "modelWeight": null, "device": "auto" | "cpu" | "cuda",
     "since": null, "updateIndex": true, "diagnostics": true, "codeLens": true, "fusion": true,
     "coverage": null}

`modelWeight` is the fusion weight of the model's score (see `rca_lsp.ranker.fusion`); null keeps
the shipped weight, which is 0 while the model does not help on the benchmark (retrieval's order,
with the model's evidence added). `fusion: false` ranks by retrieval's weights alone, as `rca
suspects --no-fusion` does: neither the repository's tuned fusion nor the shipped fusion for
regressions.

`coverage` is the path of the failing test's coverage report (relative to the repository's top, or
absolute), read at each ranking as `rca suspects --coverage` reads it; where it is missing or no
report, the ranking runs without it and says why.

A value that is not valid is replaced by its default, and a message says so, naming the values
as JSON (the server shows each such message once); unknown keys are reported the same way and ignored. Client-side keys
(`server`, `trace`) are accepted silently.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields, replace
from typing import Any

from rca_lsp.records import json_kind

RANKERS = ("none", "llm")
DEVICES = ("auto", "cpu", "cuda")  # as rca_lsp.ranker.session.DEVICES (not imported: no onnx here)
CLIENT_KEYS = {"server", "trace", "serverCommand", "command"}
_REV = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/@^~{}-]{0,199}$")
_COUNTS = {"top": (0, 1000), "rerank_top": (2, 20)}  # the integers' ranges, ends included


@dataclass(frozen=True, kw_only=True)
class Options:
    top: int = 20
    ranker: str = "none"
    rerank_top: int = 20
    model_weight: float | None = None  # None: the shipped `Fusion().weight`
    device: str = "auto"  # where the ranker runs: "auto" takes CUDA when onnxruntime-gpu has it, else the CPU
    since: str | None = None
    update_index: bool = True  # bring a stale index up to HEAD before ranking, as `rca suspects` does
    diagnostics: bool = True
    code_lens: bool = True
    fusion: bool = True  # the learned fusions (tuned, and the shipped one for regressions) where they apply
    coverage: str | None = None  # the failing test's coverage report: a path, relative to the repository's top


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _check(name: str, value: Any) -> str | None:
    """Why `value` is not valid for `name`, or None."""
    if name in _COUNTS:
        low, high = _COUNTS[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            return f"an integer from {low} to {high}"
    elif name == "model_weight" and value is not None and (
            isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100):
        return "a number from 0 to 100, or null"
    elif name == "ranker" and value not in RANKERS:
        return _one_of(RANKERS)
    elif name == "device" and value not in DEVICES:
        return _one_of(DEVICES)
    elif name == "since" and value is not None and (not isinstance(value, str) or not _REV.match(value)):
        return "a revision (hash, branch or tag) or null"
    elif name == "coverage" and value is not None and (
            not isinstance(value, str) or not value.strip() or len(value) > 4096 or "\0" in value):
        return "the path of a coverage report, or null"
    elif name in ("update_index", "diagnostics", "code_lens", "fusion") and not isinstance(value, bool):
        return "true or false"
    return None


def _one_of(values: tuple[str, ...]) -> str:
    return ", ".join(_json(v) for v in values[:-1]) + " or " + _json(values[-1])


def _json(value: Any) -> str:
    """A value as the client writes it (`null`, `true`, `"cpu"`), cut to a readable length."""
    text = json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:80] + "…"


def parse_options(raw: Any, base: Options | None = None) -> tuple[Options, list[str]]:
    """Options from a client's JSON value, and one message per value replaced by its default."""
    base = base or Options()
    if raw is None:
        return base, []
    if isinstance(raw, dict) and "rca" in raw:  # the section (no setting is named rca), whatever its type
        raw = raw["rca"]
    if not isinstance(raw, dict):  # the defaults, as the message says (not the settings before it)
        return Options(), [f"rca settings must be an object, got {json_kind(raw)}; using the defaults"]
    known = {_camel(f.name): f.name for f in fields(Options)} | {f.name: f.name for f in fields(Options)}
    defaults = Options()
    changes: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in raw.items():
        name = known.get(key)
        if name is None:
            if key not in CLIENT_KEYS:
                problems.append(f"unknown rca setting {key!r} ignored")
            continue
        why = _check(name, value)
        if why:
            default = getattr(defaults, name)
            problems.append(f"rca setting {_camel(name)}: {_json(value)} is not valid (expected {why}); "
                            f"using the default {_json(default)}")
            changes[name] = default
        else:
            changes[name] = value
    return replace(base, **changes), problems
