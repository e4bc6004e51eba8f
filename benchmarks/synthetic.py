"""A reproducible synthetic corpus for the benchmarks, assembled from the real plans' parts.

Each synthetic plan is a raw page as a district site would publish it: a breadcrumb and a byline
(page furniture that cleaning removes), a title, a preamble, 4–6 sections (一、…) and about 25
items (1. …) drawn from the real plans' items with their sentences rotated, numbered through the
plan or restarting per section, then a footer. The same seed always gives the same texts; 1,000
plans are about 6 M characters and 25 k items. `synthetic_corpus` gives each plan its own district
and doc_id, for a project's data/raw.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from analysis.params import load_params
from analysis.stages.dataset import structure_corpus

SEED = 20240601
DISTRICTS = ("杨浦", "闵行", "宝山", "城中", "定海", "普陀", "海曙", "鄞州", "江干", "西湖", "浦东", "徐汇",
             "静安", "黄浦", "长宁", "虹口", "嘉定", "松江", "青浦", "奉贤", "金山", "崇明", "城东", "城西")
NUMERALS = "一二三四五六七八九十"
DIGITS = "零一二三四五六七八九"


@dataclass(frozen=True)
class Parts:
    """What synthetic plans are made of: the real plans' preambles, section titles and items."""

    preambles: tuple[str, ...]
    section_titles: tuple[str, ...]
    items: tuple[str, ...]


def real_parts(raw_dir: Path, params_dir: Path) -> Parts:
    """Preambles, section titles and item texts of the real plans (cleaned and structured)."""
    tables = structure_corpus(raw_dir, load_params(params_dir))
    return Parts(
        preambles=tuple(d.structure.preamble for d in tables.plans if d.structure.preamble),
        section_titles=tuple(title for d in tables.plans for _, title in d.structure.sections if title),
        items=tuple(tables.items["text"]),
    )


def vary(item: str, rng: random.Random) -> str:
    """The item with its sentences rotated (same characters, new order); never to a sentence that
    starts with a digit, which would hide the item marker ("3.2024年" is not item 3)."""
    sentences = [s + "。" for s in item.rstrip("。").split("。") if s]
    shift = rng.choice([i for i, s in enumerate(sentences) if not s[0].isdigit()])
    return "".join(sentences[shift:] + sentences[:shift])


@dataclass(frozen=True)
class SyntheticPlan:
    """A synthetic plan with its own district: what its manifest row needs, and the raw page."""

    doc_id: str
    district: str
    year: int
    text: str


def synthetic_plan(parts: Parts, rng: random.Random, district: str | None = None) -> tuple[int, str]:
    """One raw plan page (see the module docstring) and its year. The district named in the page
    is drawn from DISTRICTS unless given (the draw happens either way, so the texts stay the same)."""
    drawn, year = rng.choice(DISTRICTS), rng.randint(2015, 2025)
    district = district or drawn
    n_sections, per_section = rng.randint(4, 6), rng.choice((True, False))
    sizes = [rng.randint(3, 7) for _ in range(n_sections)]
    scale = rng.randint(22, 28) / sum(sizes)  # about 25 items per plan
    sizes = [max(1, round(size * scale)) for size in sizes]
    lines = [
        "您现在的位置是: 首页 > 信息公开 > 工作计划",
        f"【 作者:办公室 阅读:{rng.randint(100, 20000)} 发布日期:{year}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)} 】",
        f"{year}年{district}区教育局工作要点",
        rng.choice(parts.preambles),
    ]
    number = 0
    for section, size in enumerate(sizes):
        lines.append(f"{NUMERALS[section]}、{rng.choice(parts.section_titles)}")
        number = 0 if per_section else number
        for _ in range(size):
            number += 1
            lines.append(f"{number}.{vary(rng.choice(parts.items), rng)}")
    lines += ["上一篇：无", f"版权所有 {district}区教育局"]
    return year, "\n\n".join(lines) + "\n"


def synthetic_plans(parts: Parts, n: int, seed: int = SEED) -> list[str]:
    """`n` raw plan texts; the same (parts, n, seed) always gives the same texts."""
    rng = random.Random(seed)
    return [synthetic_plan(parts, rng)[1] for _ in range(n)]


def synthetic_district(number: int) -> str:
    """A district name no real plan uses, one per number: 合成 and the number's digits (合成零零四二)."""
    return "合成" + "".join(DIGITS[int(digit)] for digit in f"{number:04d}")


def synthetic_corpus(parts: Parts, n: int, seed: int = SEED) -> list[SyntheticPlan]:
    """`n` plans, plan i of district `synthetic_district(i)` with doc_id syn<i>_<year>; the texts are
    `synthetic_plans`' with that district named, and a smaller corpus is the start of a larger one."""
    rng = random.Random(seed)
    plans = []
    for number in range(n):
        district = synthetic_district(number)
        year, text = synthetic_plan(parts, rng, district)
        plans.append(SyntheticPlan(f"syn{number:04d}_{year}", district, year, text))
    return plans
