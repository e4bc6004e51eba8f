"""The one formatter of every table a page shows: bilingual headers, percents, intervals, counts, no float noise."""

from __future__ import annotations

import math
import re

import pandas as pd

from analysis.chars import CJK

HAS_CJK = re.compile(f"[{CJK}]")

PERCENT = {  # columns holding a share in [0, 1]: shown as a percent with one decimal
    "share", "share_low", "share_high", "item_share", "item_share_low", "item_share_high", "median_share",
    "min_share", "max_share", "others_median", "theme_share", "stable_share", "subsample_share",
    "theme_min_share", "neighbour_min_share", "share_nearest",
}
SIGNIFICANT = {"p", "q", "pvalue"}  # p- and q-values: two significant digits (they span magnitudes)
NOTATION = re.compile(r"^(?:[A-Za-zκα]{1,2}|G²|F1|OR|SHA-256|log₂ ratio|\d[\d.%]*|)$")  # symbols read in any language
HEADERS = {  # English column name → "中文 English"
    "plan": "计划 plan", "plans": "计划数 plans", "district": "地区 district", "region": "地区 region",
    "year": "年份 year", "years": "适用年份 years", "doc_id": "计划编号 doc_id", "title": "标题 title",
    "completeness": "完整性 completeness", "admin_level": "行政级别 admin_level", "script": "字形 script",
    "theme": "主题 theme", "term": "词 term", "terms": "词语 terms", "description": "说明 description",
    "exclude": "排除 exclude", "mentions": "提及 mentions", "count": "次数 count", "counts": "次数 counts",
    "expected": "期望 expected", "g2": "对数似然 G² g2", "log_ratio": "log₂ 比 log_ratio", "p": "p", "q": "q",
    "n_items": "条目数 n_items", "n_chars": "字数 n_chars", "n_sections": "部分数 n_sections",
    "n_plans": "计划数 n_plans", "items": "条目 items", "n_items_other": "其他计划含词条目 n_items_other",
    "items_other": "其他计划条目 items_other", "key": "显著 key", "rules": "规则 rules",
    "items_with_theme": "含主题条目 items_with_theme",
    "item_seq": "条目序号 item_seq", "item_no": "条目编号 item_no", "section_no": "部分 section_no",
    "section_title": "部分标题 section_title", "text": "原文 text", "left": "左文 left", "match": "匹配 match",
    "right": "右文 right", "where": "位置 where", "location": "位置 location", "code": "编码 code",
    "predicted": "词表 predicted", "note": "理由 note", "tp": "一致为是 tp", "fp": "误报 fp", "fn": "漏报 fn",
    "tn": "一致为否 tn", "precision": "精确率 precision", "recall": "召回率 recall", "f1": "F1 值 f1",
    "not_applicable": "不适用 not_applicable", "direction": "方向 direction", "odds_ratio": "比值比 odds_ratio",
    "pool_plans": "参照计划 pool_plans", "pool_items_with_theme": "参照含主题条目 pool_items_with_theme",
    "pool_n_items": "参照条目 pool_n_items", "occurrences": "出现次数 occurrences", "whole": "整词 whole",
    "inside_longer": "在长词内 inside_longer", "split": "被切开 split", "alone": "单独分词 alone",
    "example": "例句 example", "flagged": "需处理 flagged", "type": "类型 type", "sub_tool": "子工具 sub_tool",
    "codes": "编码数 codes", "share": "占比 share", "share_low": "区间下限 share_low",
    "share_high": "区间上限 share_high", "median_share": "各计划中位数 median_share",
    "min_share": "各计划最小 min_share", "max_share": "各计划最大 max_share",
    "others_median": "其他完整计划中位数 others_median", "n_uncoded": "未编码条目 n_uncoded",
    "coded_items": "已编码条目 coded_items", "mixed_items": "混合类型条目 mixed_items",
    "multi_sentence_items": "多句编码条目 multi_sentence_items", "sentence_codes": "句子编码数 sentence_codes",
    "sentence": "句 sentence", "sentence_text": "句子 sentence_text", "unit": "单位 unit", "cue": "提示词 cue",
    "cues": "提示词 cues", "definition": "定义 definition", "cluster": "聚类 cluster", "label": "标签 label",
    "rank": "名次 rank", "centrality": "中心度 centrality", "stability": "稳定性 stability",
    "seed_stability": "种子稳定性 seed_stability", "stable": "稳定 stable", "theme_share": "主题占比 theme_share",
    "k": "k", "silhouette": "轮廓系数 silhouette", "inertia": "惯性 inertia", "ari": "平均 ARI ari",
    "ari_se": "ARI 标准误 ari_se", "ari_min": "ARI 门槛 ari_min", "jaccard": "Jaccard 指数 jaccard",
    "jaccard_min": "Jaccard 门槛 jaccard_min", "n_stable": "稳定簇数 n_stable", "passes": "通过 passes",
    "chosen": "所选 chosen", "stable_share": "稳定簇条目占比 stable_share", "value": "值 value",
    "rule": "规则 rule", "lines": "行数 lines", "source": "来源 source", "target": "目标 target",
    "weight": "权重 weight",
    "tokens": "词数 tokens", "collocate": "搭配词 collocate", "observed": "观察值 observed",
    "frequency": "频次 frequency", "pmi": "点互信息 PMI pmi", "window_tokens": "窗口词数 window_tokens",
    "first_section": "首次出现部分 first_section", "per_10k_chars": "每万字 per_10k_chars",
    "first_line": "首行 first_line", "numbering": "编号方式 numbering", "mean": "平均 mean", "std": "标准差 std",
    "min": "最小 min", "max": "最大 max", "median": "中位数 median", "input file": "输入文件 input file",
    "params file": "参数文件 params file", "package": "软件包 package", "version": "版本 version",
    "report": "报告 report", "region · level": "地区 · 级别 region · level", "community": "社群 community",
    "degree": "度 degree", "scope": "范围 scope", "kind": "类别 kind", "run": "重拟合 run",
}


def header(name) -> str:
    """A column header readers of both languages can read: kept when it has Chinese or is notation
    (G², q, κ, a number), else its HEADERS entry (the name itself when HEADERS has none)."""
    if isinstance(name, tuple):
        return " · ".join(header(part) for part in name if str(part))
    text = str(name)
    if HAS_CJK.search(text) or NOTATION.match(text):
        return text
    return HEADERS.get(text, text)


def number(value: float, column: str = "") -> str:
    """One number as shown: an integer without ".0", a share as a percent with one decimal, a p/q
    value with two significant digits, anything else rounded to three decimals without float noise."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if column in PERCENT:
        return percent(value)
    if column in SIGNIFICANT:
        return f"{value:.2g}"
    if float(value).is_integer():
        return str(int(value))
    return repr(round(float(value), 3))


def percent(value: float) -> str:
    """A share in [0, 1] as "46.2%" (one decimal); "—" without a value."""
    return "—" if pd.isna(value) else f"{value:.1%}"


def interval(value: float, low: float, high: float, as_percent: bool = False, digits: int = 1) -> str:
    """"46.2% [40.0%, 52.1%]" or "12.3 [8.1, 17.0]": an estimate with its interval in brackets; the
    estimate alone when the interval is missing."""
    show = percent if as_percent else (lambda v: "—" if pd.isna(v) else f"{v:.{digits}f}")
    if pd.isna(low) or pd.isna(high):
        return show(value)
    return f"{show(value)} [{show(low)}, {show(high)}]"


def rank(best: int, worst: int, of: int) -> str:
    """A rank with its uncertainty (text.stats.rank_bounds): "1/4" when the intervals settle it,
    "1–3/4（区间重叠，并列 tied）" when they overlap."""
    if best == worst:
        return f"{best}/{of}"
    return f"{best}–{worst}/{of}（区间重叠，并列 tied）"


def cell(value, column: str = "") -> str:
    """Any cell as text: numbers by `number`, booleans 是/否, missing values "—", the rest as is."""
    if isinstance(value, bool):
        return "是 yes" if value else "否 no"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return number(value, column)
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return str(value)


def format_frame(frame: pd.DataFrame, index: bool = False) -> pd.DataFrame:
    """`frame` for display: a meaningful index (not 0..n; when `index`, or named/labelled) turned into
    columns, every cell text (`cell`, by its column's original name), every header bilingual (`header`)."""
    shown = frame
    if index or not isinstance(frame.index, pd.RangeIndex):
        names = [n if n is not None else "" for n in frame.index.names]
        shown = frame.set_axis(frame.index.set_names(names)).reset_index()
    out = pd.DataFrame(index=range(len(shown)))
    for at, column in enumerate(shown.columns):
        key = column[-1] if isinstance(column, tuple) else column
        out.insert(at, header(column), [cell(v, str(key)) for v in shown.iloc[:, at]], allow_duplicates=True)
    return out
