"""The data catalog: every table of data/processed — its file, columns and dtypes, and the stage that writes it."""

from __future__ import annotations

from dataclasses import dataclass

from analysis.paths import ProjectError

DTYPES = ("str", "int", "float", "bool")
FOLDERS = {"clean": "dataset", "coword": "coword"}  # folders of files per plan/scope, and their stage


@dataclass(frozen=True)
class Table:
    """One CSV of data/processed. `spec` lists its columns in file order as `name:dtype`."""

    name: str
    stage: str
    spec: str

    @property
    def file(self) -> str:
        return f"{self.name}.csv"

    @property
    def columns(self) -> list[str]:
        return [column.split(":")[0] for column in self.spec.split()]

    @property
    def dtypes(self) -> dict[str, str]:
        return dict(column.split(":") for column in self.spec.split())


TABLES = [
    # dataset
    Table("documents", "dataset",
        "doc_id:str district:str region:str admin_level:str year:int title:str source:str "
        "file:str completeness:str sha256:str n_chars:int n_sections:int n_items:int "
        "script:str"),
    Table("items", "dataset",
        "doc_id:str district:str year:int section_no:int section_title:str item_no:str "
        "item_seq:int text:str"),
    Table("removed", "dataset", "doc_id:str rule:str text:str"),
    # themes
    Table("kwic", "themes",
        "doc_id:str district:str year:int theme:str term:str where:str item_seq:int "
        "section_no:int left:str match:str right:str start:int"),
    Table("segmentation", "themes",
        "theme:str term:str occurrences:int whole:int inside_longer:int split:int alone:str "
        "example:str flagged:bool"),
    Table("term_counts", "themes",
        "doc_id:str district:str year:int theme:str term:str applicable:bool mentions:int "
        "per_10k_chars:float items_with_term:int n_items:int item_share:float "
        "first_section:int"),
    Table("theme_counts", "themes",
        "doc_id:str district:str year:int theme:str applicable:bool mentions:int "
        "per_10k_chars:float items_with_theme:int n_items:int item_share:float "
        "first_section:int per_10k_low:float per_10k_high:float item_share_low:float "
        "item_share_high:float"),
    Table("theme_tests", "themes",
        "doc_id:str district:str year:int completeness:str theme:str items_with_theme:int "
        "n_items:int pool_plans:int pool_items_with_theme:int pool_n_items:int "
        "odds_ratio:float p:float q:float direction:str"),
    # clusters
    Table("cluster_examples", "clusters", "cluster:int rank:int doc_id:str item_seq:int centrality:float"),
    Table("cluster_k_selection", "clusters",
        "k:int silhouette:float inertia:float ari:float ari_se:float jaccard:float "
        "n_stable:int passes:bool chosen:bool"),
    Table("cluster_solution", "clusters",
        "k:int silhouette:float ari:float ari_min:float jaccard_min:float n_stable:int "
        "stable_share:float passes:bool"),
    Table("cluster_stability", "clusters",
        "k:int kind:str run:int random_state:int n_items:int ari:float cluster:int "
        "jaccard:float"),
    Table("cluster_summary", "clusters",
        "cluster:int label:str n_items:int n_plans:int theme:str theme_share:float "
        "stability:float seed_stability:float stable:bool"),
    Table("cluster_terms", "clusters", "cluster:int term:str weight:float rank:int"),
    Table("clusters", "clusters",
        "doc_id:str district:str year:int item_seq:int cluster:int cluster_label:str x:float "
        "y:float"),
    Table("doc_similarity", "clusters",
        "doc_a:str doc_b:str district_a:str year_a:int district_b:str year_b:int "
        "similarity:float"),
    Table("nearest_neighbours", "clusters", "doc_id:str neighbour:str rank:int similarity:float share_nearest:float"),
    # keyness
    Table("keyness", "keyness",
        "scope:str doc_id:str district:str year:int theme:str term:str count:int n_items:int items:int "
        "n_items_other:int items_other:int expected:float g2:float p:float q:float log_ratio:float key:bool"),
    # exploratory
    Table("ca_inertia", "exploratory", "scope:str analysis:str dim:int eigenvalue:float share:float cumulative:float"),
    Table("ca_points", "exploratory",
        "scope:str analysis:str kind:str label:str mass:float x:float y:float contrib_x:float contrib_y:float "
        "cos2_x:float cos2_y:float spread:float"),
    Table("crosstab_cells", "exploratory",
        "scope:str table:str row:str col:str count:int row_total:int row_share:float expected:float "
        "residual:float marked:bool"),
    Table("crosstab_tests", "exploratory",
        "scope:str table:str rows:int cols:int n:int chi2:float df:int p_chi2:float p:float method:str "
        "cramers_v:float min_expected:float low_expected:int dropped:str"),
    Table("cue_overlap", "exploratory", "type:str sub_tool:str theme:str shared:str"),
    Table("tree_nodes", "exploratory",
        "scope:str kind:str node:int label:str left:int right:int height:float size:int support:float"),
    Table("tree_summary", "exploratory",
        "scope:str kind:str method:str metric:str leaves:int cophenetic:float replicates:int kept:int"),
    # topics
    Table("topic_items", "topics", "scope:str model:str topic:int rank:int doc_id:str item_seq:int weight:float"),
    Table("topic_selection", "topics",
        "scope:str model:str k:int items:int npmi:float stability:float stable:bool chosen:bool"),
    Table("topic_shares", "topics",
        "scope:str model:str doc_id:str topic:int share:float share_low:float share_high:float"),
    Table("topic_terms", "topics", "scope:str model:str topic:int rank:int term:str weight:float"),
    # set_clusters: the clusters stage's tables computed within each plan set with a comparison page
    Table("set_clusters", "set_clusters",
        "set:str doc_id:str district:str year:int item_seq:int cluster:int cluster_label:str x:float "
        "y:float"),
    Table("set_cluster_summary", "set_clusters",
        "set:str cluster:int label:str n_items:int n_plans:int theme:str theme_share:float "
        "stability:float seed_stability:float stable:bool"),
    Table("set_cluster_k_selection", "set_clusters",
        "set:str k:int silhouette:float inertia:float ari:float ari_se:float jaccard:float "
        "n_stable:int passes:bool chosen:bool"),
    Table("set_cluster_solution", "set_clusters",
        "set:str k:int silhouette:float ari:float ari_min:float jaccard_min:float n_stable:int "
        "stable_share:float passes:bool"),
    Table("set_nearest_neighbours", "set_clusters",
        "set:str doc_id:str neighbour:str rank:int similarity:float share_nearest:float"),
    # validation
    Table("adjudication_queue", "validation",
        "doc_id:str item_seq:int category:str coder_a:str code_a:int coder_b:str code_b:int decision:str"),
    Table("coder_agreement", "validation",
        "coder_a:str coder_b:str category:str n_items:int both_1:int only_a:int only_b:int both_0:int "
        "percent:float percent_low:float percent_high:float kappa:float kappa_low:float kappa_high:float "
        "alpha:float alpha_low:float alpha_high:float"),
    Table("lexicon_disagreements", "validation",
        "doc_id:str item_seq:int theme:str code:int predicted:int terms:str note:str text:str"),
    Table("lexicon_review_queue", "validation",
        "doc_id:str item_seq:int category:str dictionary:int classifier:int probability:float coded:bool"),
    Table("lexicon_validation", "validation",
        "theme:str sample:str n_items:int tp:int fp:int fn:int tn:int precision:float recall:float "
        "f1:float not_applicable:int estimable:bool clf_f1:float clf_f1_low:float clf_f1_high:float"),
    # policy_tools
    Table("policy_tool_disagreements", "policy_tools",
        "doc_id:str item_seq:int unit:str type:str sub_tool:str code:int predicted:int "
        "cues:str note:str text:str"),
    Table("policy_tool_matrix", "policy_tools",
        "doc_id:str dimension:str y_order:int y:str type:str sub_tool:str codes:int"),
    Table("policy_tool_summary", "policy_tools",
        "doc_id:str level:str type:str sub_tool:str codes:int share:float share_low:float "
        "share_high:float items:int item_share:float sentence_codes:int n_items:int "
        "n_uncoded:int"),
    Table("policy_tool_review_queue", "policy_tools",
        "doc_id:str item_seq:int category:str dictionary:int classifier:int probability:float coded:bool"),
    Table("policy_tool_validation", "policy_tools",
        "level:str type:str sub_tool:str sample:str n_items:int tp:int fp:int fn:int tn:int "
        "precision:float recall:float f1:float kappa:float estimable:bool clf_f1:float clf_f1_low:float "
        "clf_f1_high:float"),
    Table("policy_tools", "policy_tools",
        "doc_id:str item_seq:int sentence:int start:int unit:str type:str sub_tool:str "
        "cue:str sentence_text:str"),
    # coword
    Table("coword_edges", "coword", "scope:str source:str target:str count:int weight:float jaccard:float pmi:float"),
    Table("coword_nodes", "coword", "scope:str term:str items:int count:int community:int degree:int"),
    Table("item_tokens", "coword", "doc_id:str item_seq:int tokens:str"),
]
CATALOG = {table.name: table for table in TABLES}


def table(name: str) -> Table:
    """The catalog entry of table `name`; a one-line error for a name the catalog does not know."""
    if name not in CATALOG:
        raise ProjectError(f"data/processed has no table {name!r}; known tables: {', '.join(sorted(CATALOG))}")
    return CATALOG[name]


def written_by(stage: str) -> list[Table]:
    """The tables a stage writes, in catalog order."""
    return [entry for entry in TABLES if entry.stage == stage]
