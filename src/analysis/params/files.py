"""Which file under params/ holds which section (standard library only: stage keys hash them
without loading any model)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

# section → its file under params/: the one list of params files (stage keys hash these).
FILES = {
    "clean": "clean.yaml",
    "structure": "structure.yaml",
    "ingest": "ingest.yaml",
    "themes": "themes.yaml",
    "policy_tools": "policy_tools.yaml",
    "clusters": "clusters.yaml",
    "statistics": "statistics.yaml",
    "explore": "explore.yaml",
    "exploratory": "exploratory.yaml",
    "report": "report.yaml",
    "coding": "coding.yaml",
    "stopwords": "stopwords.txt",
    "userdict": "userdict.txt",
}
DOCUMENTS = {"codebook": "codebook.md"}  # read by people, not code; hashed for provenance only
TOKENS = ("userdict", "stopwords")  # the sections every segmenting stage reads
KWIC_WINDOW_MAX = 500  # characters of context each side of `analysis kwic --window`: a paragraph


def params_files(params_dir: Path, sections: Iterable[str]) -> list[Path]:
    """The files of `sections` (of FILES or DOCUMENTS) under `params_dir`, in the order given: what a
    stage's key or a page's provenance hashes."""
    names = FILES | DOCUMENTS
    sections = list(sections)
    if unknown := [s for s in sections if s not in names]:
        raise ValueError(f"unknown params section(s) {', '.join(unknown)}; known: {', '.join(names)}")
    return [Path(params_dir) / names[section] for section in sections]
