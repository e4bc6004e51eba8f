"""The sections of analysis notebook 06 (structure) and the comparison page's cross-tabs, as objects to display."""

from __future__ import annotations

from IPython.display import HTML

from analysis.params.exploratory import ExploratoryParams
from analysis.stages.topics import TOPIC_SCOPE
from analysis.views import structure, summaries
from analysis.views.data import ReportData, plan_names
from analysis.views.fragments import safe_html, table
from analysis.views.overview import is_large
from analysis.views.setstats import keyness_rows, set_keyness
from analysis.views.structure import rows_of, scope_of
from analysis.views.structure_plots import plot_ca_biplot, plot_dendrogram, plot_keyness, plot_topic_shares

CA_TITLES = {"themes": "计划 × 主题 plans × themes", "terms": "计划 × 高频计划词语 plans × top plan terms"}
TREE_TITLES = {"terms": "词语树 terms (Jaccard over items)", "plans": "计划树 plans (cosine of TF-IDF)"}


def _settings(data: ReportData) -> ExploratoryParams:
    return data.params.exploratory


def header(data: ReportData, doc_ids: list[str], name: str) -> list:
    """The snapshot, the plan set and its plans."""
    names = plan_names(data.documents)
    return [safe_html("<p class='meta'>快照 snapshot <code>{snapshot}</code> · 计划集合 plan set <code>{name}</code> · "
                      "{n} 份计划 plans：{plans}</p>", snapshot=data.snapshot, name=name, n=len(doc_ids),
                      plans="、".join(names.get(d, d) for d in doc_ids[:summaries.SAMPLE_PLANS * 6]))]


def crosstabs(data: ReportData, doc_ids: list[str], name: str) -> list:
    """Every cross-tab of the set with its test (tables with a row per plan only for a small set)."""
    scope, shown = scope_of(name), []
    tests = rows_of(data.crosstab_tests, scope).set_index("table")
    for table_name in structure.crosstab_names(data, scope, plans=not is_large(data, doc_ids)):
        shown += [safe_html("<h3>{title}</h3>", title=structure.TITLES[table_name]),
                  structure.crosstab_test_html(tests.loc[table_name]),
                  table(structure.crosstab_frame(data, scope, table_name))]
    if not shown:
        return [safe_html("<p class='meta'>计划或类别太少，没有可检验的交叉表。 "
                          "Too few categories for a cross-tab.</p>")]
    return shown


def tool_theme(data: ReportData, doc_ids: list[str], name: str) -> list:
    """The tool type × theme cross-tab with row % and residuals, and the cues shared with theme terms."""
    scope = scope_of(name)
    tests = rows_of(data.crosstab_tests, scope).set_index("table")
    shown = []
    if "theme_tool_type" in tests.index:
        shown += [structure.crosstab_test_html(tests.loc["theme_tool_type"]),
                  table(structure.crosstab_frame(data, scope, "theme_tool_type"))]
    overlap = structure.overlap_frame(data)
    shown.append(safe_html("<p>下列子工具的提示词与主题词相同或互相包含：同一个词既记为该工具又记为该主题，"
                           "两者的关联有一部分是由此“内置”的，不能当作发现。 "
                           "These cues are also theme terms (or contain / lie inside one): "
                           "the association of the tool and the theme is partly built in.</p>"))
    return [*shown, table(overlap) if len(overlap) else safe_html("<p>没有共有词。 No shared words.</p>")]


def correspondence(data: ReportData, doc_ids: list[str], name: str) -> list:
    """Per CA: the biplot (small set), inertia per dimension, and points with contributions and cos²."""
    scope, names, shown = scope_of(name), plan_names(data.documents), []
    for analysis, title in CA_TITLES.items():
        points = rows_of(data.ca_points, scope, analysis=analysis)
        inertia = rows_of(data.ca_inertia, scope, analysis=analysis)
        shown.append(safe_html("<h3>{title}</h3>", title=title))
        if points.empty:
            shown.append(safe_html("<p class='meta'>少于三个计划或三列有数据：不做对应分析。 Too small for CA.</p>"))
            continue
        if not is_large(data, doc_ids):
            shown.append(plot_ca_biplot(points, inertia, names, title))
        shown += [table(structure.inertia_frame(inertia)),
                  table(structure.points_frame(points if not is_large(data, doc_ids) else
                                               points[points["kind"] == "column"], names, top=15))]
    return shown


def trees(data: ReportData, doc_ids: list[str], name: str) -> list:
    """Term and plan dendrograms (the plan one drawn only for a small set, else a line saying so),
    cophenetic correlation, surviving merges."""
    scope, names, keep = scope_of(name), plan_names(data.documents), _settings(data).tree_keep_share
    summary, shown = rows_of(data.tree_summary, scope).set_index("kind"), []
    for kind, title in TREE_TITLES.items():
        nodes = rows_of(data.tree_nodes, scope, kind=kind)
        if nodes.empty:
            continue
        if kind == "plans" and is_large(data, doc_ids):
            shown.append(structure.large_tree_html(title, summary.loc[kind],
                                                  data.params.report.detail_max_plans))
            continue
        shown += [safe_html("<h3>{title}</h3>", title=title), plot_dendrogram(nodes, names, title, keep),
                  structure.tree_note_html(summary.loc[kind], nodes, names, keep)]
    return shown or [safe_html("<p class='meta'>少于三片叶子，不画树。 Fewer than three leaves.</p>")]


def topics(data: ReportData, doc_ids: list[str], name: str) -> list:
    """Per model: k selection, then (only for a stable k) top terms, typical items and plan shares."""
    scope, settings, names = scope_of(name), _settings(data), plan_names(data.documents)
    selection = rows_of(data.topic_selection, scope)
    if selection.empty:
        return [safe_html("<p class='meta'>没有主题模型：只为默认计划集合拟合（{scope}），或条目、词语太少。 No topic "
                          "models: they are fitted for the default set only, or there are too few items.</p>",
                          scope=TOPIC_SCOPE)]
    shown = [table(structure.selection_frame(selection))]
    for model in ("nmf", "lda"):
        shown.append(structure.topic_verdict_html(selection, model, settings.topic_min_stability))
        terms = rows_of(data.topic_terms, scope, model=model)
        if terms.empty:
            continue
        items = rows_of(data.topic_items, scope, model=model)
        shares = rows_of(data.topic_shares, scope, model=model)
        listed = summaries.sample_ids(doc_ids) if is_large(data, doc_ids) else doc_ids
        shown += [HTML(structure.typical_items_html(data, items, terms)),
                  plot_topic_shares(shares[shares["doc_id"].isin(listed)], names, structure.topic_labels(terms))]
    return shown


def keyness(data: ReportData, doc_ids: list[str], top_n: int) -> list:
    """The keyness plot of each plan (of a sample for a large set) and its key terms."""
    found, names = set_keyness(data, sorted(doc_ids)), plan_names(data.documents)
    listed = summaries.sample_ids(doc_ids) if is_large(data, doc_ids) else sorted(doc_ids)
    shown = [summaries.sample_html(data.documents, listed, len(doc_ids))] if is_large(data, doc_ids) else []
    for doc_id in listed:
        rows = found[found["doc_id"] == doc_id]
        shown.append(safe_html("<h3>{plan}</h3>", plan=names.get(doc_id, doc_id)))
        if rows.empty:
            shown.append(safe_html("<p class='meta'>没有可检验的词（或没有参照计划）。 Nothing tested.</p>"))
            continue
        key = rows[rows["key"].astype(bool) & (rows["log_ratio"] > 0)].nlargest(top_n, "g2")
        shown += [plot_keyness(rows, names.get(doc_id, doc_id), top_n),
                  table(keyness_rows(key)) if len(key) else safe_html(
                      "<p>没有特色词（显著且至少出现在 {n} 个条目中）。 No key term.</p>",
                      n=_settings(data).keyness_min_items)]
    return shown
