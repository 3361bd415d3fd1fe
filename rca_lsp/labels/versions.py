"""Tuned fusions of one repository, versioned: `<vcs-dir>/rca/models/v<N>.json` and `current`.

Each version is a `learned.LinearModel` file with a `tuned` record beside its weights (when, on how
many labels, λ, its leave-one-out figures and retrieval's). Versions are never rewritten or
deleted; `current` names the one `rca suspects` ranks with, and `use none` removes it: retrieval
again, exactly as without labels. A `current` that names a missing or unreadable version is an
error (exit 6) with the way back, never a silent fall back.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from rca_lsp.errors import ModelError
from rca_lsp.suspects.learned import LinearModel, Model, load
from rca_lsp.index.paths import index_dir

CURRENT = "current"
VERSION = re.compile(r"^v(\d+)$")  # a version's name: v1, v2, ...


@dataclass(frozen=True)
class Version:
    name: str
    info: dict
    current: bool


def models_dir(meta_dir: str) -> Path:
    return index_dir(meta_dir) / "models"


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _numbers(folder: Path) -> list[int]:
    if not folder.is_dir():
        return []
    return sorted(int(m.group(1)) for p in folder.glob("v*.json") if (m := VERSION.match(p.stem)))


def save(meta_dir: str, model: LinearModel, info: dict) -> str:
    """Writes the next version and makes it current; returns its name."""
    folder = models_dir(meta_dir)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"v{(_numbers(folder) or [0])[-1] + 1}"
    doc = {**model.to_json(), "version": name, "tuned": info}
    _write(folder / f"{name}.json", json.dumps(doc, indent=1) + "\n")
    _write(folder / CURRENT, name + "\n")
    return name


def current_name(meta_dir: str) -> str | None:
    path = models_dir(meta_dir) / CURRENT
    try:
        name = path.read_text().strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ModelError(f"cannot read {path}: {exc.strerror or exc}") from None
    return name or None


def current(meta_dir: str) -> Model | None:
    """The tuned fusion `rca suspects` ranks with, or None: retrieval."""
    name = current_name(meta_dir)
    if name is None:
        return None
    path = models_dir(meta_dir) / f"{name}.json"
    if not VERSION.match(name) or not path.is_file():
        raise ModelError(f"the current tuned fusion {name!r} is missing ({path})",
                         hint="`rca model list` shows the versions; `rca model use none` ranks with retrieval")
    return load(path)


def listing(meta_dir: str) -> list[Version]:
    folder = models_dir(meta_dir)
    now = current_name(meta_dir)
    out = []
    for n in _numbers(folder):
        name = f"v{n}"
        try:
            info = json.loads((folder / f"{name}.json").read_text()).get("tuned", {})
        except (OSError, ValueError) as exc:
            info = {"error": str(exc)}
        out.append(Version(name, info, name == now))
    return out


def use(meta_dir: str, name: str) -> str | None:
    """Point `current` at `name` (checked to load), or remove it for "none"; returns what is current."""
    folder = models_dir(meta_dir)
    if name == "none":
        (folder / CURRENT).unlink(missing_ok=True)
        return None
    path = folder / f"{name}.json"
    if not VERSION.match(name) or not path.is_file():
        known = ", ".join(v.name for v in listing(meta_dir)) or "none tuned yet"
        raise ModelError(f"no tuned fusion {name!r} (versions: {known}); nothing changed (current: "
                         f"{current_name(meta_dir) or 'none, retrieval'})",
                         hint="`rca model use` takes a version's name from `rca model list`, or `none` for retrieval")
    load(path)
    _write(folder / CURRENT, name + "\n")
    return name
