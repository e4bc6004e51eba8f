"""Load `params/*.yaml` safely and reject what the code would silently ignore."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from analysis.paths import ProjectError


def load_yaml(path: Path, required: Iterable[str] = (), optional: Iterable[str] = ()) -> dict[str, Any]:
    """Read a YAML mapping; error (naming the file) on syntax errors, missing or unknown keys."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProjectError(f"{path}: parameter file not found; restore it from git") from None
    except UnicodeDecodeError as exc:
        raise ProjectError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ProjectError(f"{path}:{where} is not valid YAML ({exc.__class__.__name__}); fix the syntax") from None
    if not isinstance(data, dict):
        raise ProjectError(f"{path}: expected a mapping of keys to values at the top level")
    required, allowed = set(required), set(required) | set(optional)
    if missing := sorted(required - data.keys()):
        raise ProjectError(f"{path}: missing key(s) {', '.join(missing)}; add them")
    if allowed and (unknown := sorted(data.keys() - allowed)):
        raise ProjectError(
            f"{path}: unknown key(s) {', '.join(map(str, unknown))}; allowed: {', '.join(sorted(allowed))}"
        )
    return data
