"""Params layer: every `params/*` file read, validated and typed in one place."""

from importlib import import_module

from analysis.params.files import DOCUMENTS, FILES, TOKENS, params_files

__all__ = ["DOCUMENTS", "FILES", "TOKENS", "Params", "load_params", "params_files", "warnings"]


def __getattr__(name: str):
    """Params, load_params and warnings, imported on first use (PEP 562): the models and YAML are
    not loaded by an unchanged run, which needs only the file names."""
    if name in ("Params", "load_params", "warnings"):
        return getattr(import_module("analysis.params.sections"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
