"""rca-lsp: which change broke this? Root-cause suspects for failures, from your VCS history."""

__version__ = "0.1.0"
