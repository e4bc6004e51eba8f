"""Params layer: every `params/*` file read, validated and typed in one place."""
