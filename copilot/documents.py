"""Tenant documents: ingest (extract, chunk, embed, store atomically), list, delete.

Embedding happens before the transaction; the document row and all its chunks are then written in the
caller's one transaction, so a failure leaves nothing half-stored. Re-uploading a filename replaces it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from uuid import UUID

import asyncpg
import numpy as np

from common.database import lock_until_commit
from common.errors import InvalidInputError, PayloadTooLargeError
from copilot.chunking import Chunk, chunk_sections
from copilot.embeddings import Embedder
from copilot.extraction import content_type_for, extract
from copilot.records import delete_by_id, get_by_id
from inventory.records import one_row

DOCUMENT_COLUMNS = "id, filename, content_type, size_bytes, sha256, chunk_count, uploaded_by, created_at"
MAX_FILENAME_CHARS = 255


@dataclass(frozen=True)
class PreparedDocument:
    """A parsed, chunked and embedded file, ready to store."""

    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    chunks: list[Chunk]
    embeddings: list[np.ndarray]


def prepare(filename: str, data: bytes, embedder: Embedder, *, max_bytes: int) -> PreparedDocument:
    """Validate and parse a file; raises a domain error (4xx) for anything the caller sent wrong."""
    filename = filename.strip().replace("\\", "/").rsplit("/", 1)[-1]
    if not filename or len(filename) > MAX_FILENAME_CHARS:
        raise InvalidInputError(f"a filename of 1 to {MAX_FILENAME_CHARS} characters is required", code="bad_filename")
    content_type = content_type_for(filename)
    if len(data) > max_bytes:
        raise PayloadTooLargeError(
            f"{filename!r} is {len(data)} bytes; the limit is {max_bytes}",
            details={"size_bytes": len(data), "max_bytes": max_bytes},
        )
    chunks = chunk_sections(extract(filename, data), window=embedder.window)
    embeddings = embedder.embed([c.content for c in chunks])
    return PreparedDocument(filename, content_type, len(data), hashlib.sha256(data).hexdigest(), chunks, embeddings)


async def store(conn: asyncpg.Connection, tenant_id: UUID, user_id: UUID, document: PreparedDocument) -> dict:
    """Replace any document of the same name and insert this one with its chunks (one transaction)."""
    # Two uploads of one name at once (a double click, a retry while the first still embeds): the second waits
    # for the first and then replaces it, where its delete could not see the first's row and its insert failed.
    await lock_until_commit(conn, f"copilot-document:{tenant_id}:{document.filename}")
    replaced = await conn.fetchval(
        "DELETE FROM app.copilot_documents WHERE filename = $1 RETURNING id", document.filename
    )
    row = await one_row(
        conn,
        f"""INSERT INTO app.copilot_documents
                (tenant_id, uploaded_by, filename, content_type, size_bytes, sha256, chunk_count)
            VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {DOCUMENT_COLUMNS}""",
        tenant_id,
        user_id,
        document.filename,
        document.content_type,
        document.size_bytes,
        document.sha256,
        len(document.chunks),
    )
    await conn.executemany(
        """INSERT INTO app.copilot_chunks (tenant_id, document_id, ordinal, section, page, content, embedding)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        [
            (tenant_id, row["id"], c.ordinal, c.section, c.page, c.content, e)
            for c, e in zip(document.chunks, document.embeddings, strict=True)
        ],
    )
    return {**row, "replaced_document_id": replaced}


async def list_documents(conn: asyncpg.Connection) -> list[dict]:
    rows = await conn.fetch(f"SELECT {DOCUMENT_COLUMNS} FROM app.copilot_documents ORDER BY filename")
    return [dict(r) for r in rows]


async def get_document(conn: asyncpg.Connection, document_id: UUID) -> dict:
    return await get_by_id(conn, "copilot_documents", DOCUMENT_COLUMNS, document_id, what="document")


async def delete_document(conn: asyncpg.Connection, document_id: UUID) -> None:
    """Delete a document; its chunks go with it (ON DELETE CASCADE)."""
    await delete_by_id(conn, "copilot_documents", document_id, what="document")
