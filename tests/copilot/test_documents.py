from __future__ import annotations

import asyncio
import random
import string

import asyncpg
import numpy as np
import pytest

from common.errors import NotFoundError, PayloadTooLargeError
from copilot import documents
from tests.copilot.conftest import as_user
from tests.support.documents import minimal_pdf

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


async def test_two_uploads_of_one_filename_at_once_end_with_the_second_replacing_the_first(
    database, make_tenant, embedder, owner_pool
):
    # Before, the second's insert met the first's row, which its delete could not see: a 500.
    tenant = await make_tenant()
    prepared = documents.prepare("acme.md", CONTRACT.encode(), embedder, max_bytes=10_000)
    async with database.tenant_transaction(tenant.claims(), None) as tx:
        first = await documents.store(tx.conn, tx.tenant_id, tx.user_id, prepared)
        second = asyncio.create_task(
            as_user(database, tenant)(lambda tx: documents.store(tx.conn, tx.tenant_id, tx.user_id, prepared))
        )
        await asyncio.sleep(0.3)
    assert (await second)["replaced_document_id"] == first["id"]
    assert await owner_pool.fetchval("SELECT count(*) FROM app.copilot_documents WHERE tenant_id = $1", tenant.id) == 1
    assert await chunk_count(owner_pool, tenant.id) == len(prepared.chunks)


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
    assert await run(lambda tx: documents.list_documents(tx.conn)) == []
    with pytest.raises(NotFoundError):
        await run(lambda tx: documents.get_document(tx.conn, stored["id"]))
    with pytest.raises(NotFoundError):
        await run(lambda tx: documents.delete_document(tx.conn, stored["id"]))
