from __future__ import annotations

import asyncio
import random
import string

import asyncpg
import numpy as np
import pytest
from tokenizers import Tokenizer

from common.errors import NotFoundError, PayloadTooLargeError
from copilot import documents
from copilot.model_files import packaged_embedding_model
from inventory.listing import ListQuery
from tests.copilot.conftest import as_user
from tests.support.documents import minimal_pdf

EMBEDDING_WINDOW = 256  # all-MiniLM-L6-v2's max_seq_length (sentence_bert_config.json)
CONTRACT = "# Penalties\nLate delivery costs 2% per week.\n\n# Payment\nNet 60 days.\n"


async def chunk_count(owner_pool, tenant_id) -> int:
    return await owner_pool.fetchval("SELECT count(*) FROM app.copilot_chunks WHERE tenant_id = $1", tenant_id)


async def test_an_upload_stores_the_document_and_one_embedded_chunk_per_section(make_tenant, upload, owner_pool):
    tenant = await make_tenant()
    stored = await upload(tenant, "acme.md", CONTRACT)
    assert stored["chunk_count"] == 2 and stored["content_type"] == "text/markdown"
    rows = await owner_pool.fetch(
        "SELECT section, vector_dims(embedding) AS dims FROM app.copilot_chunks "
        "WHERE document_id = $1 ORDER BY ordinal",
        stored["id"],
    )
    assert [r["section"] for r in rows] == ["Penalties", "Payment"]
    assert all(r["dims"] == 384 for r in rows)


async def test_a_pdf_whose_text_layer_holds_nul_characters_is_stored(make_tenant, upload, owner_pool):
    # PostgreSQL refuses NUL in text: before extraction dropped them, such a PDF was refused as a whole.
    tenant = await make_tenant()
    stored = await upload(tenant, "scan.pdf", minimal_pdf(["Net\\00060 days"]))
    content = await owner_pool.fetchval("SELECT content FROM app.copilot_chunks WHERE document_id = $1", stored["id"])
    assert "Net60 days" in content


async def test_reuploading_a_filename_replaces_the_document_and_its_chunks(make_tenant, upload, owner_pool):
    tenant = await make_tenant()
    first = await upload(tenant, "acme.md", CONTRACT)
    second = await upload(tenant, "acme.md", "# Penalties\nNow 5% per week.\n")
    assert second["replaced_document_id"] == first["id"]
    assert await chunk_count(owner_pool, tenant.id) == 1


@pytest.mark.parametrize("second_text", [CONTRACT, CONTRACT + "\n# Scope\nAll widgets.\n"], ids=["same", "changed"])
async def test_two_uploads_of_one_filename_at_once_end_with_one_document(
    database, make_tenant, embedder, owner_pool, second_text
):
    # Before, the second's insert met the first's row, which its delete could not see: a 500. The second waits
    # for the first: changed, it replaces it; the same bytes (a double click), it answers the first unchanged.
    tenant = await make_tenant()
    prepared = documents.prepare("acme.md", CONTRACT.encode(), embedder, max_bytes=10_000)
    again = documents.prepare("Acme.md", second_text.encode(), embedder, max_bytes=10_000)
    async with database.tenant_transaction(tenant.claims(), None) as tx:
        first = await documents.store(tx.conn, tx.tenant_id, tx.user_id, prepared)
        second = asyncio.create_task(
            as_user(database, tenant)(lambda tx: documents.store(tx.conn, tx.tenant_id, tx.user_id, again))
        )
        await asyncio.sleep(0.3)
    stored = await second
    if second_text == CONTRACT:
        assert stored["id"] == first["id"] and stored["unchanged"]
    else:
        assert stored["replaced_document_id"] == first["id"]
    assert await owner_pool.fetchval("SELECT count(*) FROM app.copilot_documents WHERE tenant_id = $1", tenant.id) == 1
    assert await chunk_count(owner_pool, tenant.id) == len(again.chunks)


async def test_deleting_a_document_removes_its_chunks(database, make_tenant, upload, owner_pool):
    tenant = await make_tenant()
    stored = await upload(tenant, "acme.md", CONTRACT)
    await as_user(database, tenant)(lambda tx: documents.delete_document(tx.conn, stored["id"]))
    assert await chunk_count(owner_pool, tenant.id) == 0
    with pytest.raises(NotFoundError):
        await as_user(database, tenant)(lambda tx: documents.delete_document(tx.conn, stored["id"]))


async def test_a_failure_while_storing_chunks_leaves_no_document(database, make_tenant, embedder, owner_pool):
    tenant = await make_tenant()
    prepared = documents.prepare("acme.md", CONTRACT.encode(), embedder, max_bytes=10_000)
    # The second chunk's vector has the wrong dimension: PostgreSQL refuses it after the first rows went in.
    broken = documents.PreparedDocument(
        **{**prepared.__dict__, "embeddings": [prepared.embeddings[0], np.zeros(3, dtype=np.float32)]}
    )
    with pytest.raises(asyncpg.DataError):
        await as_user(database, tenant)(lambda tx: documents.store(tx.conn, tx.tenant_id, tx.user_id, broken))
    assert await owner_pool.fetchval("SELECT count(*) FROM app.copilot_documents WHERE tenant_id = $1", tenant.id) == 0
    assert await chunk_count(owner_pool, tenant.id) == 0


class RandomUnitEmbedder:
    """Seeded random unit vectors: the model takes minutes over the thousand chunks of the test below."""

    window = None  # chunks bound by characters only

    def embed(self, texts: list[str]) -> list[np.ndarray]:
        vectors = np.random.default_rng(0).normal(size=(len(texts), 384)).astype(np.float32)
        return list(vectors / np.linalg.norm(vectors, axis=1, keepdims=True))


# Until 2026-12-07 the line was a heading repeated in the chunk, and PostgreSQL refused the chunk's full-text vector
# (54000, string is too long for tsvector): a 500 for the upload.
async def test_a_heading_line_of_100000_distinct_words_is_stored_as_body_text(database, make_tenant, owner_pool):
    tenant = await make_tenant()
    rng = random.Random(7)
    words = {"".join(rng.choices(string.ascii_lowercase, k=8)) for _ in range(100_000)}
    text = "# " + " ".join(sorted(words)) + "\nLate delivery costs 2% per week.\n"
    prepared = documents.prepare("glossary.md", text.encode(), RandomUnitEmbedder(), max_bytes=len(text))
    stored = await as_user(database, tenant)(lambda tx: documents.store(tx.conn, tx.tenant_id, tx.user_id, prepared))
    longest = await owner_pool.fetchval(
        "SELECT max(length(content)) FROM app.copilot_chunks WHERE document_id = $1", stored["id"]
    )
    assert await chunk_count(owner_pool, tenant.id) == stored["chunk_count"] > 1
    assert longest <= 900


def wordpieces(text: str) -> int:
    """How many tokens all-MiniLM-L6-v2 reads ``text`` as, [CLS] and [SEP] included."""
    tokenizer = Tokenizer.from_file(str(packaged_embedding_model() / "tokenizer.json"))
    tokenizer.no_truncation()
    return len(tokenizer.encode(text).ids)


# Until 2026-12-07 chunks were bound by characters only: the model reads 256 wordpieces and ignores the rest, so
# the last rows of a 858-character price-list chunk (310 wordpieces) were never embedded.
def test_a_price_list_is_chunked_between_its_rows_within_the_embedding_models_window(embedder):
    header = "sku,name,supplier,unit price,currency,moq,lead time days"
    rows = [
        f"BRG-4{i:04d},deep groove ball bearing 62{i % 10}-2RS,Schaeffler KG,{3 + i / 7:.2f},EUR,10,{7 + i % 20}"
        for i in range(40)
    ]
    data = "\n".join([header, *rows]).encode()
    chunks = documents.prepare("prices.csv", data, embedder, max_bytes=len(data)).chunks
    lines = ["; ".join(f"{c}: {v}" for c, v in zip(header.split(","), row.split(","), strict=True)) for row in rows]
    assert max(wordpieces(chunk.content) for chunk in chunks) <= EMBEDDING_WINDOW
    assert [line for line in lines if not any(line in chunk.content for chunk in chunks)] == []


# Until 2026-12-07 a 900-character Chinese chunk was some 900 wordpieces, most of it never embedded.
def test_chinese_prose_is_chunked_between_its_sentences_within_the_embedding_models_window(embedder):
    sentences = [f"第{i}批货物应在{i + 10}天内交付并在收到发票后{30 + i}天内付款。" for i in range(40)]
    data = ("# 条款\n" + "".join(sentences)).encode()
    chunks = documents.prepare("terms.md", data, embedder, max_bytes=len(data)).chunks
    assert max(wordpieces(chunk.content) for chunk in chunks) <= EMBEDDING_WINDOW
    assert [s for s in sentences if not any(s in chunk.content for chunk in chunks)] == []


def test_a_file_over_the_size_limit_is_refused_before_parsing(embedder):
    with pytest.raises(PayloadTooLargeError, match="limit is 10"):
        documents.prepare("big.txt", b"x" * 11, embedder, max_bytes=10)


async def test_a_viewer_cannot_upload(make_tenant, upload):
    tenant = await make_tenant()
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await upload(tenant, "acme.md", CONTRACT, user=tenant.viewer)


async def test_another_tenants_document_cannot_be_read_or_deleted(database, make_tenant, upload):
    mine, theirs = await make_tenant(), await make_tenant()
    stored = await upload(theirs, "globex.md", CONTRACT)
    run = as_user(database, mine)
    assert (await run(lambda tx: documents.list_documents(tx.conn, ListQuery(limit=50)))).items == []
    with pytest.raises(NotFoundError):
        await run(lambda tx: documents.get_document(tx.conn, stored["id"]))
    with pytest.raises(NotFoundError):
        await run(lambda tx: documents.delete_document(tx.conn, stored["id"]))
