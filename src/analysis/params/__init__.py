"""Params layer: every `params/*` file read, validated and typed in one place."""

from analysis.params.sections import DOCUMENTS, FILES, TOKENS, Params, load_params, params_files, warnings

__all__ = ["DOCUMENTS", "FILES", "TOKENS", "Params", "load_params", "params_files", "warnings"]
