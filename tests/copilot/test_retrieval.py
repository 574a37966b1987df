from __future__ import annotations

import numpy as np
import pytest

from copilot import retrieval
from copilot.retrieval import SearchMode
from tests.copilot.conftest import as_user
from tests.support.copilot_corpus import make_corpus


@pytest.fixture(scope="module")
async def corpus_tenant(make_tenant, upload):
    tenant = await make_tenant()
    corpus = make_corpus(8)
    for filename, text in corpus.documents:
        await upload(tenant, filename, text)
    return tenant, corpus


async def recall_at_5(database, embedder, tenant, questions, mode: SearchMode) -> float:
    hits = 0
    for q in questions:
        embedding = embedder.embed_one(q.text)
        passages = await as_user(database, tenant)(
            lambda tx, q=q, e=embedding: retrieval.search(tx.conn, q.text, e, limit=5, mode=mode)
        )
        hits += any(p.filename == q.filename and p.section == q.section for p in passages)
    return hits / len(questions)


async def test_hybrid_search_finds_the_labelled_section_for_most_questions(database, embedder, corpus_tenant):
    tenant, corpus = corpus_tenant
    assert await recall_at_5(database, embedder, tenant, corpus.questions, SearchMode.HYBRID) >= 0.85


async def test_hybrid_search_finds_every_part_number_question(database, embedder, corpus_tenant):
    tenant, corpus = corpus_tenant
    part_questions = [q for q in corpus.questions if q.section == "Covered parts"]
    assert await recall_at_5(database, embedder, tenant, part_questions, SearchMode.HYBRID) == 1.0


async def test_passages_carry_their_citation(database, embedder, corpus_tenant):
    tenant, _ = corpus_tenant
    question = "What is the lead time for orders from Cobalt Circuits?"
    (best, *_) = await as_user(database, tenant)(
        lambda tx: retrieval.search(tx.conn, question, embedder.embed_one(question), limit=3)
    )
    assert best.citation() == "cobalt-circuits-supply-agreement.md, section 'Delivery and lead time'"


async def test_search_never_returns_another_tenants_chunks(database, embedder, make_tenant, upload, corpus_tenant):
    _, corpus = corpus_tenant
    outsider = await make_tenant()
    await upload(outsider, "own.md", "# Notes\nOur own warehouse opens at 7am.\n")
    question = corpus.questions[0].text
    for mode in SearchMode:
        passages = await as_user(database, outsider)(
            lambda tx, m=mode: retrieval.search(tx.conn, question, embedder.embed_one(question), limit=5, mode=m)
        )
        assert {p.filename for p in passages} <= {"own.md"}


def test_reciprocal_rank_fusion_rewards_agreement_between_rankings():
    a, b, c = "a", "b", "c"
    scores = retrieval.reciprocal_rank_fusion([[a, b], [b, c]], [1.0, 0.5])  # type: ignore[list-item]
    assert max(scores, key=scores.__getitem__) == b


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("What is the lead-time?", ["What", "is", "lead-time", "the"]),
        ("Clause 14.3.2 for BRG-40904?", ["14.3.2", "BRG-40904", "Clause", "for"]),
        ("'); DROP TABLE x; --", ["DROP", "TABLE"]),
        ("Terms of Würth?", ["Terms", "Würth", "of"]),
        ("付款条件?", ["付款条件"]),
        ("भुगतान की शर्तें?", ["की", "भुगतान", "शर्तें"]),
        ("Terms of Wu\u0308rth?", ["Terms", "Würth", "of"]),
        ("?!", []),
    ],
)
def test_text_queries_are_built_from_words_only(query, expected):
    assert retrieval.text_terms(query) == expected


# Until 2026-12-07 a query's words were ASCII letters and digits only: "Würth" was 'rth', so the supplier's own
# section never got the full-text boost.
async def test_full_text_finds_a_name_with_letters_outside_ascii(database, make_tenant, upload):
    tenant = await make_tenant()
    await upload(tenant, "terms.md", "# Würth\nNet 30 days.\n\n# Hilti\nNet 45 days.\n\n# Fischer\nNet 60 days.\n")

    async def ranking_and_wurth_chunk(tx):
        wurth = await tx.conn.fetchval("SELECT id FROM app.copilot_chunks WHERE section = 'Würth'")
        return await retrieval.text_ranking(tx.conn, "What are the payment terms of Würth?", 40), wurth

    ranking, wurth = await as_user(database, tenant)(ranking_and_wurth_chunk)
    assert [chunk_id for chunk_id, _ in ranking] == [wurth]


def _price_list() -> str:
    """Twelve look-alike sections of bearing prices: only the SKU tells the rows apart."""
    lines = ["# Bearing price list 2026", ""]
    for section in range(12):
        lines += [f"## Ball bearings, sheet {section + 1}", ""]
        for row in range(6):
            sku = f"BRG-4{section:02d}{row:02d}"
            lines.append(f"- {sku}: deep groove ball bearing, unit price {3 + section + row / 10:.2f} EUR.")
        lines.append("")
    return "\n".join(lines)


async def test_hybrid_search_ranks_first_the_chunk_with_a_rare_code_vector_search_ranks_lower(
    database, embedder, make_tenant, upload
):
    tenant = await make_tenant()
    await upload(tenant, "bearing-prices.md", _price_list())
    question = "What is the unit price of BRG-40904?"
    embedding = embedder.embed_one(question)
    found = {}
    for mode in (SearchMode.VECTOR, SearchMode.HYBRID):
        passages = await as_user(database, tenant)(
            lambda tx, m=mode: retrieval.search(tx.conn, question, embedding, limit=3, mode=m)
        )
        found[mode] = [p.section for p in passages]
    assert found[SearchMode.VECTOR][0] != "Ball bearings, sheet 10"
    assert found[SearchMode.HYBRID][0] == "Ball bearings, sheet 10"


def test_full_text_ties_share_a_rank_so_the_vector_order_decides_between_them():
    b, c = "b", "c"
    # c comes first in the text list only by its id: both matched the same words.
    found = retrieval.Rankings(vector=[b, c], text=[(c, 2.0), (b, 2.0)])  # type: ignore[list-item]
    scores = retrieval.fuse(found, retrieval.Fusion(k=60, vector_weight=1.0, text_weight=2.0))
    assert scores[b] > scores[c]
    assert retrieval.tied_ranks([(c, 2.0), (b, 2.0), ("a", 1.0)]) == [(c, 1), (b, 1), ("a", 3)]  # type: ignore[list-item]


async def _crowd_near(owner_pool, tenant, embedding: np.ndarray, count: int) -> None:
    """``count`` chunks of ``tenant`` around ``embedding``, nearer to it than any real passage."""
    rng = np.random.default_rng(7)
    vectors = embedding + rng.normal(0.0, 0.01, (count, embedding.size))
    async with owner_pool.acquire() as conn, conn.transaction():
        document = await conn.fetchval(
            """INSERT INTO app.copilot_documents (tenant_id, filename, content_type, size_bytes, sha256, chunk_count)
               VALUES ($1, 'crowd.md', 'text/markdown', 1, 'x', $2) RETURNING id""",
            tenant.id,
            count,
        )
        await conn.executemany(
            """INSERT INTO app.copilot_chunks (tenant_id, document_id, ordinal, content, embedding)
               VALUES ($1, $2, $3, 'filler', $4::float4[]::vector)""",
            [(tenant.id, document, ordinal, [float(x) for x in v]) for ordinal, v in enumerate(vectors)],
        )


# Until 2026-12-07 a tenant whose chunks lay beyond hnsw.max_scan_tuples (20,000) other tenants' chunks in the
# shared HNSW graph got no vector candidates at all, and with no word matched the answer was "Nothing found".
async def test_vector_search_finds_a_tenants_chunks_behind_more_other_chunks_than_the_index_scan_reads(
    database, embedder, make_tenant, upload, owner_pool
):
    tenant = await make_tenant()
    await upload(tenant, "terms.md", "# Payment\nInvoices are settled 45 days after receipt.\n")
    question = "When do we have to pay the bills?"
    embedding = embedder.embed_one(question)
    await _crowd_near(owner_pool, await make_tenant(), embedding, 500)

    async def search_reading_at_most_100_index_rows(tx):
        # Walk the HNSW graph, as the planner does on a table of many tenants' chunks, rather than sort this
        # tenant's one row; the exact ranking, which index scans off leaves to sort, still can.
        await tx.conn.execute("SET LOCAL enable_sort = off")
        await tx.conn.execute("SET LOCAL hnsw.max_scan_tuples = 100")
        return await retrieval.search(tx.conn, question, embedding, limit=3, mode=SearchMode.VECTOR)

    passages = await as_user(database, tenant)(search_reading_at_most_100_index_rows)
    assert [p.section for p in passages] == ["Payment"]
