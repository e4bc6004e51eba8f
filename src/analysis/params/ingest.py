"""params/ingest.yaml as IngestParams: the size, ratio and depth limits on reading plan files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.params.loader import YamlModel
from analysis.params.rules import Whole, check
from analysis.paths import ProjectError

GB = 1_000_000_000


def _whole(low: int, high: int) -> Whole:
    return Whole(low, high, "a whole number >= {low}", " and <= {high}")


RULES = {
    "max_file_bytes": _whole(1_000, GB),
    "max_text_chars": _whole(1_000, 100_000_000),
    "max_member_bytes": _whole(1_000, 2 * GB),
    "max_xml_bytes": _whole(1_000, GB),
    "max_package_bytes": _whole(1_000, 4 * GB),
    "max_ratio": _whole(10, 10_000),
    "max_stream_bytes": _whole(1_000, 2 * GB),
    "max_streams_bytes": _whole(1_000, 4 * GB),
    "max_html_bytes": _whole(1_000, GB),
    "max_html_depth": _whole(10, 100_000),
}


@dataclass(frozen=True)
class IngestParams(YamlModel):
    """The validated contents of params/ingest.yaml (see the comments there)."""

    max_file_bytes: int
    max_text_chars: int
    max_member_bytes: int
    max_xml_bytes: int
    max_package_bytes: int
    max_ratio: int
    max_stream_bytes: int
    max_streams_bytes: int
    max_html_bytes: int
    max_html_depth: int

    @classmethod
    def from_data(cls, path: Path, data: dict[str, Any]) -> IngestParams:
        if problems := check(path, data, RULES):
            raise ProjectError(*problems)
        return cls(**data)
