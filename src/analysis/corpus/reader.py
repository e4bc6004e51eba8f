"""Reading plan files once: extracted text cached by the raw file's sha256 and what shapes extraction.

`check`, `add` and every `run` read each plan; a PDF, DOCX or HTML page is extracted the first time
only. The cache (data/processed/.extract/<key>.json, hidden, safe to delete at any time) is keyed
by the file's bytes, the extraction code (the corpus modules that read files, and the versions of
the libraries they call), params/ingest.yaml and the structure markers that join PDF lines, so any
change to one of them extracts again.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import astuple, dataclass
from importlib import metadata
from pathlib import Path

from analysis.corpus.ingest import read_plan
from analysis.files import write_text_atomic
from analysis.params import load_params
from analysis.params.clean import StructureParams
from analysis.params.ingest import IngestParams
from analysis.paths import Paths

CODE_MODULES = ("ingest.py", "bounds.py", "decode.py", "clean.py", "reader.py")
LIBRARIES = ("pdfplumber", "pdfminer.six", "python-docx", "beautifulsoup4", "lxml", "charset-normalizer")


@functools.cache
def code_digest() -> str:
    """Hash of the extraction code and the versions of the libraries it calls."""
    h = hashlib.sha256()
    for name in CODE_MODULES:
        h.update((Path(__file__).parent / name).read_bytes())
    for library in LIBRARIES:
        h.update(f"{library}={metadata.version(library)}".encode())
    return h.hexdigest()


@dataclass(frozen=True)
class PlanReader:
    """How plan files are read: the structure markers (PDF paragraphs), the limits of
    params/ingest.yaml, and the cache folder (None: no cache)."""

    rules: StructureParams
    limits: IngestParams
    cache: Path | None = None

    def key(self, data: bytes) -> str:
        """The cache key of a file's bytes under these settings and this code."""
        settings = repr((self.rules.section_marker_text, self.rules.item_marker_texts, astuple(self.limits)))
        return hashlib.sha256(b"\0".join([hashlib.sha256(data).digest(), code_digest().encode(),
                                           settings.encode()])).hexdigest()

    def read(self, path: Path, data: bytes | None = None) -> tuple[str, list[tuple[str, str]]]:
        """`read_plan` through the cache: the text and the (rule, line) pairs extraction dropped;
        ProjectError naming the file when it cannot be read (refusals are not cached)."""
        data = Path(path).read_bytes() if data is None else data
        if self.cache is None:
            return read_plan(path, self.rules, self.limits, data)
        stored = self.cache / f"{self.key(data)}.json"
        try:
            entry = json.loads(stored.read_text(encoding="utf-8"))
            return entry["text"], [(rule, line) for rule, line in entry["removed"]]
        except (OSError, ValueError, KeyError, TypeError):
            pass  # not cached yet, or a damaged entry: extract again
        text, removed = read_plan(path, self.rules, self.limits, data)
        write_text_atomic(stored, json.dumps({"text": text, "removed": removed}, ensure_ascii=False))
        return text, removed


def project_reader(raw_dir: Path, rules: StructureParams | None = None, limits: IngestParams | None = None
                   ) -> PlanReader:
    """The reader of a project's data/raw: its structure markers and extraction limits (from its
    params/ unless given), and its cache data/processed/.extract."""
    paths = Paths(Path(raw_dir).resolve().parent.parent)
    if rules is None or limits is None:
        params = load_params(paths.params)
        rules, limits = rules or params.structure, limits or params.ingest
    return PlanReader(rules, limits, paths.processed / ".extract")
