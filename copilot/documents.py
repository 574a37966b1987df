"""Tenant documents: ingest (extract, chunk, embed, store atomically), list, delete.

Embedding happens before the transaction; the document row and all its chunks are then written in the
caller's one transaction, so a failure leaves nothing half-stored. Re-uploading a filename replaces it: names are
composed (NFC) with their spaces folded when they arrive and compared without letter case, so "Verträge.md" sent
decomposed by macOS, "verträge.md" and " Verträge.md" are one document. The same bytes under the same name are
the stored document, unchanged; under another name they are refused (409 duplicate_document).
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg
import numpy as np

from common.database import lock_until_commit
from common.errors import ConflictError, InvalidInputError, PayloadTooLargeError
from copilot.chunking import Chunk, chunk_sections
from copilot.embeddings import Embedder
from copilot.extraction import SUPPORTED_TYPES, content_type_for, extract
from copilot.records import delete_by_id, get_by_id
from inventory.listing import KnownValues, Listing, ListQuery, Page
from inventory.records import one_row

DOCUMENT_COLUMNS = "id, filename, content_type, size_bytes, sha256, chunk_count, uploaded_by, created_at"
MAX_FILENAME_CHARS = 255  # app.copilot_documents.filename's CHECK
DOCUMENTS = Listing(
    table="app.copilot_documents",
    columns=tuple(c.strip() for c in DOCUMENT_COLUMNS.split(",")),
    sortable={"filename": str, "created_at": datetime},
    default_sort="filename",
    equality_filters={"content_type": "text"},
    known_values={"content_type": KnownValues(tuple(sorted(set(SUPPORTED_TYPES.values()))))},
)


@dataclass(frozen=True)
class PreparedDocument:
    """A parsed, chunked and embedded file, ready to store."""

    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    chunks: list[Chunk]
    embeddings: list[np.ndarray]


def clean_filename(filename: str) -> str:
    """The name a document is stored and cited under: its last path part, composed (NFC), runs of spaces folded
    to one; refuses (400 bad_filename) an empty or overlong name and one holding a control or format character
    (a tab or line break would go verbatim into the prompt's citation header, U+202E shows "gnp.md" as "dm.png")."""
    filename = unicodedata.normalize("NFC", filename.replace("\\", "/").rsplit("/", 1)[-1])
    for char in filename:
        if unicodedata.category(char) in ("Cc", "Cf"):
            what = unicodedata.name(char, "a control character")
            raise InvalidInputError(
                f"the filename holds U+{ord(char):04X} ({what}); control and formatting characters are not "
                "allowed in a document's name: rename the file",
                code="bad_filename",
            )
    filename = " ".join(filename.split())
    if not filename:
        raise InvalidInputError("a filename is required", code="bad_filename")
    if len(filename) > MAX_FILENAME_CHARS:
        raise InvalidInputError(
            f"the filename is {len(filename)} characters; the limit is {MAX_FILENAME_CHARS}", code="bad_filename"
        )
    return filename


def prepare(filename: str, data: bytes, embedder: Embedder, *, max_bytes: int) -> PreparedDocument:
    """Validate and parse a file; raises a domain error (4xx) for anything the caller sent wrong."""
    filename = clean_filename(filename)
    content_type = content_type_for(filename)
    if len(data) > max_bytes:
        raise PayloadTooLargeError(
            f"{filename!r} is {len(data)} bytes; the limit is {max_bytes}",
            details={"size_bytes": len(data), "max_bytes": max_bytes},
        )
    chunks = chunk_sections(extract(filename, data), window=embedder.window)
    embeddings = embedder.embed([c.content for c in chunks])
    return PreparedDocument(filename, content_type, len(data), hashlib.sha256(data).hexdigest(), chunks, embeddings)


async def stored_copy(conn: asyncpg.Connection, filename: str, sha256: str) -> dict | None:
    """The stored document ``filename`` (as ``clean_filename`` gave it) with these bytes, marked unchanged; None
    when there is none. The same bytes under another name are refused: a second copy would take retrieval slots
    and keep answering after the first is replaced."""
    row = await conn.fetchrow(
        f"""SELECT {DOCUMENT_COLUMNS}, lower(filename) = lower($2) AS same_name FROM app.copilot_documents
            WHERE sha256 = $1 ORDER BY lower(filename) = lower($2) DESC, created_at LIMIT 1""",
        sha256,
        filename,
    )
    if row is None:
        return None
    stored = dict(row)
    if not stored.pop("same_name"):
        raise ConflictError(
            f"{filename!r} holds the same bytes as the stored document {stored['filename']!r}: "
            "upload a changed file under that name to replace it, or delete it first",
            code="duplicate_document",
            details={"document_id": str(stored["id"]), "filename": stored["filename"]},
        )
    return {**stored, "replaced_document_id": None, "unchanged": True}


async def store(conn: asyncpg.Connection, tenant_id: UUID, user_id: UUID, document: PreparedDocument) -> dict:
    """Replace any document of the same name and insert this one with its chunks (one transaction); the stored
    document itself, unchanged, when it holds the same bytes under the same name."""
    # One lock for the tenant's documents: two uploads of one name at once (a double click, a retry while the
    # first still embeds) queue, and so do two of the same bytes under two names, which a per-name lock would
    # let both in. Embedding is done before this, so the wait is short.
    await lock_until_commit(conn, f"copilot-documents:{tenant_id}")
    unchanged = await stored_copy(conn, document.filename, document.sha256)
    if unchanged is not None:
        return unchanged
    # lower(filename): the expression of the unique index copilot_documents_name_key, so the row replaced is the
    # one that index would refuse this one beside.
    replaced = await conn.fetchval(
        "DELETE FROM app.copilot_documents WHERE lower(filename) = lower($1) RETURNING id", document.filename
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
    return {**row, "replaced_document_id": replaced, "unchanged": False}


async def list_documents(conn: asyncpg.Connection, query: ListQuery) -> Page:
    sql, params = DOCUMENTS.build(query)
    return DOCUMENTS.page(await conn.fetch(sql, *params), query)


async def get_document(conn: asyncpg.Connection, document_id: UUID) -> dict:
    return await get_by_id(conn, "copilot_documents", DOCUMENT_COLUMNS, document_id, what="document")


async def delete_document(conn: asyncpg.Connection, document_id: UUID) -> None:
    """Delete a document; its chunks go with it (ON DELETE CASCADE)."""
    await delete_by_id(conn, "copilot_documents", document_id, what="document")
