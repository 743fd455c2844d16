"""Token normalisation: informal spellings are repaired, real words are left alone."""

from __future__ import annotations

import pytest

from bot.triage.normalizer import FuzzyVocabulary, consonant_skeleton, damerau_levenshtein
from bot.triage.pipeline import Pipeline, default_pipeline


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    return default_pipeline()


def _norms(pipeline: Pipeline, text: str) -> list[str]:
    return [token.norm_ for token in pipeline.parse(text.lower())]


@pytest.mark.parametrize(
    "word, norm",
    [
        ("feverr", "fever"),
        ("fevr", "fever"),
        ("feeeever", "fever"),
        ("paiin", "pain"),
        ("pian", "pain"),
        ("hurtsss", "hurt"),
        ("hurtin", "hurt"),
        ("burnin", "burn"),
        ("itchyy", "itchy"),
        ("swolen", "swell"),
        ("swollen", "swell"),
        ("brething", "breathe"),
        ("soar", "sore"),
        ("tung", "tongue"),
        ("zits", "zit"),
        ("temp", "temperature"),
        ("thorat", "throat"),
    ],
)
def test_informal_spellings_are_repaired(pipeline: Pipeline, word: str, norm: str) -> None:
    assert _norms(pipeline, word) == [norm]


@pytest.mark.parametrize(
    "word", ["paint", "spain", "more", "store", "sure", "never", "clever", "sorry", "hart", "sever", "fewer"]
)
def test_real_words_are_not_repaired_into_symptoms(pipeline: Pipeline, word: str) -> None:
    assert _norms(pipeline, word)[0] not in {"pain", "sore", "fever", "hurt"}


def test_short_unknown_words_are_not_fuzzy_matched(pipeline: Pipeline) -> None:
    assert _norms(pipeline, "pai") == ["pai"]


def test_contractions_use_the_tokenizer_norms(pipeline: Pipeline) -> None:
    assert _norms(pipeline, "can't") == ["can", "not"]
    assert _norms(pipeline, "cant") == ["can", "not"]
    assert _norms(pipeline, "won't") == ["will", "not"]
    assert _norms(pipeline, "gonna") == ["going", "to"]


def test_emoji_aliases(pipeline: Pipeline) -> None:
    assert _norms(pipeline, "🤒") == ["fever"]
    assert _norms(pipeline, "😭") == ["😭"]


@pytest.mark.parametrize(
    "left, right, distance",
    [
        ("pain", "pain", 0),
        ("pain", "pian", 1),
        ("fevr", "fever", 1),
        ("swolen", "swollen", 1),
        ("abc", "xyz", 3),
    ],
)
def test_damerau_levenshtein(left: str, right: str, distance: int) -> None:
    assert damerau_levenshtein(left, right) == distance


def test_fuzzy_vocabulary_respects_length_bands() -> None:
    vocabulary = FuzzyVocabulary(["fever", "breathing", "pain"], [(4, 1), (7, 2)])
    assert vocabulary.closest("fevr") == "fever"
    assert vocabulary.closest("brethng") == "breathing"
    assert vocabulary.closest("fvr") is None
    assert vocabulary.closest("fevre") == "fever"
    assert vocabulary.closest("fxvxr") is None


@pytest.mark.parametrize(
    "word, norm",
    [("brth", "breathe"), ("hrts", "hurt"), ("swlln", "swell"), ("fvr", "fever"), ("owww", "ow")],
)
def test_texting_forms_are_repaired(pipeline: Pipeline, word: str, norm: str) -> None:
    assert _norms(pipeline, word) == [norm]


@pytest.mark.parametrize("word", ["tmrw", "cld", "pls", "thx", "bld"])
def test_vowelless_words_without_one_symptom_reading_stay(pipeline: Pipeline, word: str) -> None:
    assert _norms(pipeline, word)[0] not in {"cold", "blood", "bleed", "pulse", "pain"}


def test_consonant_skeleton() -> None:
    assert consonant_skeleton("swollen") == "swln"
    assert consonant_skeleton("breathe") == "brth"
