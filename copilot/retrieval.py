"""Hybrid retrieval: pgvector nearest neighbours + PostgreSQL full text, fused with reciprocal rank fusion.

Every query runs in the caller's tenant transaction, so row-level security scopes it; there is no tenant
filter here that security depends on.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID

import asyncpg
import numpy as np

RRF_K = 60  # the constant from Cormack et al. (2009); damps the weight of the very first ranks
TEXT_NORMALIZATION = 1  # ts_rank_cd divides by 1 + log(length): long chunks stop winning on sheer word count
# A word in more than this share of the tenant's chunks carries no evidence ("supplier" in a folder of
# supplier agreements): full-text ranking leaves it out, like a stop word.
TEXT_MAX_DOC_FREQUENCY = 0.5
# Words, codes and numbers as people type them: "BRG-40904", "14.3.2", "PO/2026/17", "Würth", "Böllhoff",
# "शर्तें"; letters, digits and combining marks (Hindi's vowel signs, a decomposed ü) of any script, as
# PostgreSQL's parser reads them. Matched on a mask of the text: `re` has no class for combining marks.
_WORD = re.compile(r"w+(?:[\-./]w+)*")


@dataclass(frozen=True)
class Fusion:
    """Weighted reciprocal rank fusion: a chunk scores ``weight / (k + rank)`` in each list it is in."""

    k: int = RRF_K
    vector_weight: float = 1.0
    text_weight: float = 1.0


@dataclass(frozen=True)
class Rankings:
    """Candidates from each retriever, best first: vector ids, and full-text ids with their scores."""

    vector: list[UUID]
    text: list[tuple[UUID, float]]


@dataclass(frozen=True)
class Passage:
    chunk_id: UUID
    document_id: UUID
    filename: str
    section: str | None
    page: int | None
    content: str
    score: float

    def citation(self) -> str:
        where = [self.filename]
        if self.section:
            where.append(f"section '{self.section}'")
        if self.page:
            where.append(f"page {self.page}")
        return ", ".join(where)

    def as_source(self, number: int) -> dict[str, Any]:
        return {
            "number": number,
            "document_id": str(self.document_id),
            "filename": self.filename,
            "section": self.section,
            "page": self.page,
            "chunk_id": str(self.chunk_id),
        }


class SearchMode(StrEnum):
    HYBRID = "hybrid"
    VECTOR = "vector"
    TEXT = "text"


async def search(
    conn: asyncpg.Connection,
    query: str,
    query_embedding: np.ndarray | None,
    *,
    limit: int = 5,
    mode: SearchMode = SearchMode.HYBRID,
    candidates: int = 40,
    exact: bool = False,
    fusion: Fusion = Fusion(),
) -> list[Passage]:
    """The ``limit`` best passages for ``query``. ``exact`` bypasses the HNSW index (for benchmarks)."""
    found = await rankings(conn, query, query_embedding, mode=mode, candidates=candidates, exact=exact)
    scores = fuse(found, fusion)
    best = sorted(scores, key=lambda chunk_id: -scores[chunk_id])[:limit]
    if not best:
        return []
    rows = await conn.fetch(
        """SELECT c.id, c.document_id, d.filename, c.section, c.page, c.content
           FROM app.copilot_chunks c JOIN app.copilot_documents d ON d.tenant_id = c.tenant_id AND d.id = c.document_id
           WHERE c.id = ANY($1::uuid[])""",
        best,
    )
    by_id = {r["id"]: r for r in rows}
    return [
        Passage(
            chunk_id=chunk_id,
            document_id=by_id[chunk_id]["document_id"],
            filename=by_id[chunk_id]["filename"],
            section=by_id[chunk_id]["section"],
            page=by_id[chunk_id]["page"],
            content=by_id[chunk_id]["content"],
            score=scores[chunk_id],
        )
        for chunk_id in best
        if chunk_id in by_id
    ]


async def rankings(
    conn: asyncpg.Connection,
    query: str,
    query_embedding: np.ndarray | None,
    *,
    mode: SearchMode = SearchMode.HYBRID,
    candidates: int = 40,
    exact: bool = False,
) -> Rankings:
    """Each retriever's candidates for ``mode`` (the other list stays empty)."""
    vector: list[UUID] = []
    text: list[tuple[UUID, float]] = []
    if mode in (SearchMode.HYBRID, SearchMode.VECTOR):
        if query_embedding is None:
            raise ValueError("vector search needs the query embedding")
        vector = await vector_ranking(conn, query_embedding, candidates, exact=exact)
    if mode in (SearchMode.HYBRID, SearchMode.TEXT):
        text = await text_ranking(conn, query, candidates)
    return Rankings(vector, text)


def fuse(found: Rankings, fusion: Fusion = Fusion()) -> dict[UUID, float]:
    """Weighted RRF of both lists. Full-text ties share their rank: chunks that match the same words
    equally (every section naming the supplier asked about) get the same boost, so the vector order
    between them stands instead of an arbitrary one. A list that found nothing adds nothing."""
    vector = [(chunk_id, rank) for rank, chunk_id in enumerate(found.vector, start=1)]
    return fuse_ranks([vector, tied_ranks(found.text)], [fusion.vector_weight, fusion.text_weight], fusion.k)


def tied_ranks(scored: list[tuple[UUID, float]]) -> list[tuple[UUID, int]]:
    """Competition ranks ("1224") of ids already sorted by descending score."""
    ranked: list[tuple[UUID, int]] = []
    previous: float | None = None
    rank = 0
    for position, (chunk_id, score) in enumerate(scored, start=1):
        if previous is None or not math.isclose(score, previous, rel_tol=1e-9):
            rank, previous = position, score
        ranked.append((chunk_id, rank))
    return ranked


def fuse_ranks(ranked: list[list[tuple[UUID, int]]], weights: list[float], k: int = RRF_K) -> dict[UUID, float]:
    scores: dict[UUID, float] = {}
    for ranking, weight in zip(ranked, weights, strict=True):
        for chunk_id, rank in ranking:
            scores[chunk_id] = scores.get(chunk_id, 0.0) + weight / (k + rank)
    return scores


def reciprocal_rank_fusion(
    rankings: list[list[UUID]], weights: list[float] | None = None, k: int = RRF_K
) -> dict[UUID, float]:
    positions = [[(chunk_id, rank) for rank, chunk_id in enumerate(ranking, start=1)] for ranking in rankings]
    return fuse_ranks(positions, weights or [1.0] * len(rankings), k)


async def vector_ranking(
    conn: asyncpg.Connection, embedding: np.ndarray, candidates: int, *, exact: bool
) -> list[UUID]:
    if not exact:
        # The HNSW graph spans all tenants and row-level security filters its results afterwards. The iterative
        # scan (pgvector >= 0.8) walks on past other tenants' rows, but only up to hnsw.max_scan_tuples (20,000
        # by default): a small tenant whose chunks lie beyond that many others' gets fewer rows than exist, or
        # none, and is then ranked exactly.
        await conn.execute(f"SET LOCAL hnsw.ef_search = {max(40, int(candidates))}")
        await conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        found = await _nearest(conn, embedding, candidates)
        if len(found) >= candidates or not await _has_more_chunks(conn, len(found)):
            return found
    # Without an index scan the ORDER BY is an exact sort over the tenant's rows.
    await conn.execute("SET LOCAL enable_indexscan = off")
    found = await _nearest(conn, embedding, candidates)
    await conn.execute("SET LOCAL enable_indexscan = on")
    return found


async def _nearest(conn: asyncpg.Connection, embedding: np.ndarray, candidates: int) -> list[UUID]:
    rows = await conn.fetch(
        "SELECT id FROM app.copilot_chunks ORDER BY embedding <=> $1 LIMIT $2", embedding, candidates
    )
    return [r["id"] for r in rows]


async def _has_more_chunks(conn: asyncpg.Connection, count: int) -> bool:
    """Whether the tenant (under row-level security) has more than ``count`` chunks; reads at most count + 1."""
    return bool(
        await conn.fetchval(
            "SELECT count(*) > $1 FROM (SELECT 1 FROM app.copilot_chunks LIMIT $1 + 1) AS chunks", count
        )
    )


def text_terms(query: str) -> list[str]:
    """The query's distinct words (two characters or more) as typed: each becomes a ``phraseto_tsquery`` with
    the parser that built the chunks' vectors, so a code splits the same way in both ("BRG-40904" is 'brg'
    followed by '-40904' to PostgreSQL) and a word is lower-cased as the chunks' were (the database's locale,
    not Python's)."""
    text = unicodedata.normalize("NFC", query)
    mask = "".join("w" if unicodedata.category(c)[0] in "LNM" else c if c in "-./" else " " for c in text)
    return sorted({w for m in _WORD.finditer(mask) if len(w := text[m.start() : m.end()]) >= 2})


# BM25's term weighting without its term-frequency part: a chunk scores the sum of the inverse document
# frequencies (within the tenant, under row-level security) of the query words it contains, so a part
# number or a supplier's name outweighs "agreement" or "late", which PostgreSQL's ts_rank cannot do (it
# has no IDF). Stop words give empty queries and drop out; words in most chunks are left out. ts_rank_cd
# only orders chunks with the same score (for text-only search; fusion gives them one shared rank).
_TEXT_SQL = """
WITH total AS (SELECT count(*)::float8 AS n FROM app.copilot_chunks),
terms AS (
    SELECT q, (SELECT count(*) FROM app.copilot_chunks c WHERE c.tsv @@ q)::float8 AS df
    FROM (SELECT DISTINCT phraseto_tsquery('english', w) AS q FROM unnest($1::text[]) AS w) AS words
    WHERE numnode(q) > 0
),
weighted AS (
    SELECT q, ln(1 + (n - df + 0.5) / (df + 0.5)) AS idf
    FROM terms, total
    WHERE df > 0 AND df <= greatest($3 * n, 1)
)
SELECT c.id, sum(w.idf)::float8 AS score
FROM app.copilot_chunks c JOIN weighted w ON c.tsv @@ w.q
GROUP BY c.id, c.tsv
ORDER BY score DESC,
    ts_rank_cd(c.tsv, (SELECT string_agg('(' || q::text || ')', ' | ')::tsquery FROM weighted), $4) DESC,
    c.id
LIMIT $2
"""


async def text_ranking(conn: asyncpg.Connection, query: str, candidates: int) -> list[tuple[UUID, float]]:
    """Chunks containing any of the query's meaningful words, by summed IDF of the words they contain."""
    terms = text_terms(query)
    if not terms:
        return []
    rows = await conn.fetch(_TEXT_SQL, terms, candidates, TEXT_MAX_DOC_FREQUENCY, TEXT_NORMALIZATION)
    return [(r["id"], r["score"]) for r in rows]
