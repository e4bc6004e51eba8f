"""Segmentation: the project segmenter, its dictionaries, and the segmentation check."""

from __future__ import annotations

import pickle
from itertools import pairwise

import pytest

from analysis.params.themes import ThemesParams
from analysis.text.dictionary import theme_lexicon
from analysis.text.tokenize import load_segmenter, load_segmenter_files, read_word_list, stat_segmentation

SPLIT_BY_DEFAULT_JIEBA = ["课程思政", "课后服务", "数字化转型"]


@pytest.fixture(scope="module")
def default_jieba(tmp_path_factory, paths):
    """A segmenter with an empty user dictionary: what plain jieba does."""
    empty = tmp_path_factory.mktemp("dict") / "userdict.txt"
    empty.write_text("", encoding="utf-8")
    return load_segmenter_files(empty, paths.params / "stopwords.txt")


def test_segmenter_is_loaded_once_per_process_and_pickles(paths):
    segmenter = load_segmenter(paths.params)
    assert load_segmenter(paths.params) is segmenter
    assert pickle.loads(pickle.dumps(segmenter)) is segmenter


def test_spans_cover_the_text(paths):
    text = "推进课程思政，提升 课后服务。\n二、数字化转型"
    spans = load_segmenter(paths.params).spans(text)
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(end == start for (_, end), (start, _) in pairwise(spans))


def test_user_dictionary_keeps_policy_terms_whole(paths, default_jieba):
    text = "推进课程思政，提升课后服务，推动数字化转型。"
    assert not set(SPLIT_BY_DEFAULT_JIEBA) & set(default_jieba.cut(text))
    assert set(SPLIT_BY_DEFAULT_JIEBA) <= set(load_segmenter(paths.params).cut(text))


def test_tokens_drop_stopwords_punctuation_numbers_and_single_characters(paths):
    tokens = load_segmenter(paths.params).tokens("1.推进学校课后服务建设，加强教师队伍。2024年")
    assert tokens == ["课后服务", "教师队伍"]


def test_stopwords_never_hide_a_theme_term(paths):
    lexicon = theme_lexicon(ThemesParams.from_yaml(paths.params / "themes.yaml"))
    assert set(read_word_list(paths.params / "stopwords.txt")) & set(lexicon.key_of) == set()


def test_segmentation_check_flags_a_term_jieba_splits(default_jieba):
    table = stat_segmentation(["推进课程思政建设，开好思政课。"], ["课程思政", "思政", "思政课", "心育"], default_jieba)
    rows = table.set_index("term")
    assert rows.loc["课程思政", ["occurrences", "split", "flagged"]].tolist() == [1, 1, True]
    assert rows.loc["课程思政", "example"] == "课程 / 思政"
    assert rows.loc["课程思政", "alone"] == "课程 / 思政"
    # 思政 is a token once and lies inside 思政课 once: neither is a split
    assert rows.loc["思政", ["occurrences", "whole", "inside_longer", "split", "flagged"]].tolist() == [
        2, 1, 1, 0, False,
    ]
    assert rows.loc["心育", "occurrences"] == 0


def test_no_lexicon_term_is_split_in_the_seed_plans(paths, corpus, default_jieba):
    lexicon = theme_lexicon(ThemesParams.from_yaml(paths.params / "themes.yaml"))
    texts = [done.cleaned.text for done in corpus.plans]
    flagged = stat_segmentation(texts, lexicon.key_of, default_jieba).query("flagged")["term"]
    assert set(SPLIT_BY_DEFAULT_JIEBA) <= set(flagged)  # the user dictionary is needed …
    project = stat_segmentation(texts, lexicon.key_of, load_segmenter(paths.params))
    assert project.query("flagged").empty  # … and enough
