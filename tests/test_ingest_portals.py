"""Portal furniture of sites never seen before: seven made-up layouts (tests/fixtures/ingest/portals.py)
around made-up plans. Read as .html (main-content extraction, then cleaning) or saved as text
(cleaning alone), each gives exactly its plan: no furniture left, no plan paragraph lost, the
sections and items as written; as text, every line that is not in the plan is in the removed
lines with its rule."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path

import pytest

from analysis.corpus.clean import clean_plan, normalize_chars
from analysis.corpus.decode import decode_plan, html_to_text
from analysis.corpus.ingest import extract
from analysis.corpus.structure import parse_plan
from analysis.params.clean import StructureParams
from support import LIMITS

HERE = Path(__file__).parent / "fixtures" / "ingest"
_spec = importlib.util.spec_from_file_location("portals", HERE / "portals.py")
portals = sys.modules["portals"] = importlib.util.module_from_spec(_spec)  # dataclasses look their module up
_spec.loader.exec_module(portals)
NAMES = sorted(portals.PLANS)


def test_at_least_six_layouts_and_the_files_are_what_the_generator_writes() -> None:
    assert len(NAMES) >= 6
    assert sorted(p.stem for p in portals.HERE.glob("*.html")) == NAMES
    for name in NAMES:
        assert (portals.HERE / f"{name}.html").read_bytes() == portals.page(name), name


def read(name: str, how: str, rules: StructureParams) -> tuple[str, list[tuple[str, str]]]:
    """The page as the pipeline reads it — extracted as .html, or decoded as a page saved as .txt —
    and the lines extraction left out, with their rule."""
    path = portals.HERE / f"{name}.html"
    if how == "html":
        return extract(path, rules, LIMITS)
    return decode_plan(path.read_bytes(), path.with_suffix(".txt")), []


@pytest.mark.parametrize("how", ["html", "txt"])
@pytest.mark.parametrize("name", NAMES)
def test_page_cleans_to_exactly_its_plan(clean_rules, structure_rules, name: str, how: str) -> None:
    plan = portals.PLANS[name]
    cleaned = clean_plan(read(name, how, structure_rules)[0], clean_rules)
    assert [f for f in portals.FURNITURE if f in cleaned.text] == []
    assert cleaned.text.splitlines() == plan.paragraphs()  # every paragraph, in order, nothing else
    structure = parse_plan(cleaned.text, structure_rules)
    counts = [sum(i.section_no == no for i in structure.items) for no, _ in structure.sections]
    assert counts == plan.counts
    assert structure.numbering == ("per-section" if plan.per_section else "continuous")
    assert structure.title == plan.title and structure.warnings == []


def lines_of(text: str) -> list[str]:
    return [line.strip() for line in normalize_chars(text).splitlines() if line.strip()]


@pytest.mark.parametrize("how", ["html", "txt"])
@pytest.mark.parametrize("name", NAMES)
def test_every_visible_line_is_kept_or_recorded_with_its_rule(
    clean_rules, structure_rules, name: str, how: str
) -> None:
    text, left_out = read(name, how, structure_rules)
    cleaned = clean_plan(text, clean_rules)
    removed = left_out + cleaned.removed
    page = html_to_text((portals.HERE / f"{name}.html").read_text(encoding="utf-8"))
    accounted = cleaned.text.splitlines() + [part for _, line in removed for part in lines_of(line)]
    assert Counter(lines_of(page)) == Counter(accounted)
    assert all(rule for rule, _ in removed)
    rules = {rule for rule, _ in removed}
    assert {"html_outside_article"} <= rules if how == "html" else {"breadcrumb", "footer"} <= rules
