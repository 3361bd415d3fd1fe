"""Retrieval of suspect commits for a failure; see `retrieve` for the features and their evidence."""

from rca_lsp.suspects.retrieve import Result, Weights, find_suspects

__all__ = ["Result", "Weights", "find_suspects"]
