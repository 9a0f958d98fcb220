"""Hybrid retrieval: filters, multilingual dense search, BM25 on names, fusion and boosts."""

import itertools

import pytest

from bot.knowledge.retrieve import Boosts, Filters


def ids(passages):
    return [p.source_id for p in passages]


def test_relevant_passage_first(kb):
    hits = kb.search("waste heat from a foundry to warm a greenhouse", k=3)
    assert hits[0].source_id == "industrial-symbiosis-basics"
    assert hits[0].section == "Waste heat and water"
    assert hits[0].text.startswith("Industrial symbiosis between neighbouring firms > Waste heat")


def test_french_question_finds_english_passage(kb):
    hits = kb.search("Comment concevoir un meuble démontable et réparable ?", k=2)
    assert hits[0].source_id == "eco-design-basics"


def test_country_filter_keeps_national_eu_and_general_content(kb):
    hits = kb.search("funding for packaging and eco-design", k=10, filters=Filters(country="FR"))
    found = set(ids(hits))
    assert "dk-test-packaging-voucher" not in found
    assert {"fr-test-ecodesign-grant", "eu-test-loan-guarantee"} <= found


def test_kind_and_instrument_filters(kb):
    hits = kb.search("money for my company", k=10, filters=Filters(kinds=["funding"], instruments=["voucher"]))
    assert ids(hits) == ["dk-test-packaging-voucher"]
    assert hits[0].instruments == ["voucher"] and hits[0].countries == ["DK"]


def test_exact_name_found_by_bm25(kb):
    hits = kb.search("Test Agency Denmark", k=3)
    assert hits[0].source_id == "dk-test-packaging-voucher"
    assert hits[0].bm25_rank == 1


@pytest.mark.parametrize(
    "filters",
    [
        Filters(country="DK"),
        Filters(kinds=["module"]),
        Filters(instruments=["loan", "grant"]),
        Filters(topics=["eco-design"], country="FR"),
        Filters(source_ids=["eu-test-loan-guarantee"]),
    ],
)
def test_python_filter_agrees_with_chroma_filter(kb, filters):
    """BM25 filters in Python; dense filters in Chroma: both must select the same chunks."""
    in_chroma = set(kb.index.collection.get(where=filters.to_where(), include=[])["ids"])
    in_python = {cid for cid, meta in kb.index.existing().items() if filters.matches(meta)}
    assert in_chroma == in_python and in_chroma


def test_fusion_rewards_agreement_between_rankers(kb):
    r = kb.retriever
    a, b, c = r.ids[:3]
    fused = r.fuse(dense=[(a, 0.9), (b, 0.8), (c, 0.7)], sparse=[c, b], k=3, max_per_source=9)
    # b is second in both lists, c is third and first: both beat a, which only one ranker found.
    assert [p.chunk_id for p in fused] == [c, b, a] or [p.chunk_id for p in fused] == [b, c, a]
    assert fused[-1].chunk_id == a and fused[-1].bm25_rank is None and fused[-1].dense_rank == 1


def test_max_per_source_diversifies(kb):
    r = kb.retriever
    by_source = itertools.groupby(
        sorted(zip(r.ids, r.metas, strict=True), key=lambda x: x[1]["source_id"]),
        key=lambda x: x[1]["source_id"],
    )
    many = next(list(g) for _, g in by_source)
    dense = [(cid, 0.5) for cid, _ in many] + [(r.ids[-1], 0.1)]
    fused = r.fuse(dense=dense, sparse=[], k=10, max_per_source=1)
    assert len({p.source_id for p in fused}) == len(fused)


def test_profile_boost_moves_own_country_up_without_hiding_others(kb):
    query = "grant or voucher for redesigning packaging"
    plain = ids(kb.search(query, k=5, filters=Filters(kinds=["funding"])))
    boosted = ids(
        kb.search(
            query,
            k=5,
            filters=Filters(kinds=["funding"]),
            boosts=Boosts(country="DK", sector="packaging"),
        )
    )
    assert boosted[0] == "dk-test-packaging-voucher"
    assert set(boosted) == set(plain)


def test_chroma_ann_path_agrees_with_exact_search(kb):
    """Above `exact_max` chunks, Chroma's filtered ANN search takes over; results must match."""
    from bot.knowledge.retrieve import HybridRetriever

    ann = HybridRetriever(kb.index, exact_max=0)
    assert ann.vectors is None and kb.retriever.vectors is not None
    for filters in [
        Filters(),
        Filters(country="DK"),
        Filters(kinds=["funding"], instruments=["grant"]),
    ]:
        query = "eco-design support for small firms"
        exact = kb.retriever.search(query, k=4, filters=filters)
        approx = ann.search(query, k=4, filters=filters)
        assert ids(exact) == ids(approx)
        assert [round(p.dense_similarity, 3) for p in exact] == [round(p.dense_similarity, 3) for p in approx]


class TwoVersionIndex:
    """A stand-in index whose content changes between two reloads (an FAQ removed, others moved)."""

    def __init__(self, kb):
        self.real = kb.retriever.index
        self.embeddings = self.real.embeddings
        self.version = 1

    def count(self) -> int:
        return self.real.count()

    def all_chunks(self, with_vectors: bool):
        ids, docs, metas, vectors = self.real.all_chunks(with_vectors=with_vectors)
        if self.version == 2:  # the first chunk is gone: every position moves by one
            ids, docs, metas = ids[1:], docs[1:], metas[1:]
            vectors = vectors[1:] if vectors is not None else None
        return ids, docs, metas, vectors

    def dense(self, *args, **kwargs):
        return self.real.dense(*args, **kwargs)


def test_a_search_spanning_a_reload_reads_one_version(kb):
    """A reload in the middle of a search (from another thread, between BM25 scoring a version
    and mapping its positions to chunk ids) used to mix two versions: shifted positions gave
    other chunks' ids, or the filter mask of one version met the scores of the other."""
    from bot.knowledge.retrieve import HybridRetriever

    index = TwoVersionIndex(kb)
    retriever = HybridRetriever(index)
    before = dict(zip(retriever.ids, retriever.docs, strict=True))
    bm25 = retriever.bm25 if hasattr(retriever, "bm25") else retriever.snapshot.bm25
    score = bm25.get_scores

    def score_then_reload(tokens):
        scores = score(tokens)
        if index.version == 1:
            index.version = 2
            retriever.reload()
        return scores

    bm25.get_scores = score_then_reload
    hits = retriever.search(
        "waste heat from a foundry to warm a greenhouse", k=5, max_per_source=3, filters=Filters(kinds=["module"])
    )
    assert hits
    assert all(hit.text == before[hit.chunk_id] for hit in hits)
    assert len(retriever) == len(before) - 1  # the next search sees the new version


# --- questions in other languages: the translated summaries (bot/knowledge/translated.py) -------

DANISH = "Findes der en dansk hjemmeside hvor små virksomheder selv kan lære om ressourcebesparelse og nye forretningsmodeller trin for trin?"  # noqa: E501


def test_a_question_in_another_language_finds_an_item_by_its_translated_summary(shipped_kb):
    retriever = shipped_kb.retriever
    assert ids(retriever.search(DANISH, k=5, language="da"))[0] == "case-dk-circular-enterprise-portal"
    # The multilingual embedding alone (what an English question gets) puts other items first.
    assert ids(retriever.search(DANISH, k=5, language="en"))[0] != "case-dk-circular-enterprise-portal"


def test_a_question_is_matched_with_the_words_of_the_translations_in_its_language(shipped_kb):
    """ "Segatura", "scarti di legno", "materia prima" are in the Italian text of the industrial
    symbiosis module: the Italian question finds it among the first by those words. The multilingual
    embedding and the English BM25 (noise for Italian words) alone miss it."""
    question = "Abbiamo scarti di legno e segatura: come troviamo un'azienda vicina che li usi come materia prima?"
    retriever = shipped_kb.retriever
    assert "industrial-symbiosis" in ids(retriever.search(question, k=2, language="it"))
    assert "industrial-symbiosis" not in ids(retriever.search(question, k=5, language="en"))
    assert "industrial-symbiosis" in retriever.translated.ranked_by_words("it", question, 3)


def test_words_in_another_language_are_stemmed_and_stop_words_ignored():
    from bot.knowledge.translated import TranslatedSummaries

    texts = {"fr": {"a": "Les emballages réutilisables et leur consigne.", "b": "Le recyclage des textiles usagés."}}
    translated = TranslatedSummaries(texts, embeddings=None, whole=texts)
    assert translated.ranked_by_words("fr", "Quelles règles pour un emballage réutilisable ?") == ["a"]
    assert translated.ranked_by_words("fr", "les et le des") == []  # only stop words: no ranking
    assert translated.ranked_by_words("sv", "förpackning") == []  # no text in that language


def test_items_found_by_translated_summary_obey_the_filters(shipped_kb):
    found = shipped_kb.retriever.search(DANISH, k=10, filters=Filters(country="FR"), language="da")
    assert found and not any("DK" in p.countries for p in found)


def test_the_translated_list_stands_for_the_items_best_chunk(kb):
    """An item its translated summary ranks is not shown twice, nor through a chunk the question did
    not match: the rank goes to the item's chunk already found."""
    retriever = kb.retriever
    snap = retriever.snapshot
    source = next(m["source_id"] for m in retriever.metas if len(retriever.metas_of(m["source_id"])) > 1)
    first = snap.ids[snap.first_chunk(source)]
    other = next(cid for cid in snap.ids if cid != first and snap.meta(snap.position[cid])["source_id"] == source)
    fused = retriever.fuse([(other, 0.9)], [], k=5, max_per_source=5, translated=[[first]])
    assert [p.chunk_id for p in fused] == [other]
    assert fused[0].score == pytest.approx(2 / 61)
