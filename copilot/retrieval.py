"""Hybrid retrieval: pgvector nearest neighbours + PostgreSQL full text, fused with reciprocal rank fusion.

Every query runs in the caller's tenant transaction, so row-level security scopes it; there is no tenant
filter here that security depends on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID

import asyncpg
import numpy as np

RRF_K = 60  # the constant from Cormack et al. (2009); damps the weight of the very first ranks
# PostgreSQL's ts_rank has no inverse document frequency, so words every chunk shares ("supplier",
# "agreement") rank as well as rare ones: its list counts for less in the fusion (tuned with
# bench/retrieval_quality.py). It still decides where vectors are weak: part numbers, codes, names.
TEXT_WEIGHT = 0.5
TEXT_NORMALIZATION = 1  # ts_rank_cd divides by 1 + log(length): long chunks stop winning on sheer word count
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-]{1,}")


class SearchMode(StrEnum):
    HYBRID = "hybrid"
    VECTOR = "vector"
    TEXT = "text"


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


async def search(
    conn: asyncpg.Connection,
    query: str,
    query_embedding: np.ndarray | None,
    *,
    limit: int = 5,
    mode: SearchMode = SearchMode.HYBRID,
    candidates: int = 40,
    exact: bool = False,
) -> list[Passage]:
    """The ``limit`` best passages for ``query``. ``exact`` bypasses the HNSW index (for benchmarks)."""
    ranked: list[list[UUID]] = []
    if mode in (SearchMode.HYBRID, SearchMode.VECTOR):
        if query_embedding is None:
            raise ValueError("vector search needs the query embedding")
        ranked.append(await vector_ranking(conn, query_embedding, candidates, exact=exact))
    if mode in (SearchMode.HYBRID, SearchMode.TEXT):
        ranked.append(await _text_ranking(conn, query, candidates))
    weights = [1.0] * len(ranked)
    if mode is SearchMode.HYBRID:
        weights[-1] = TEXT_WEIGHT
    scores = reciprocal_rank_fusion(ranked, weights)
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


def reciprocal_rank_fusion(
    rankings: list[list[UUID]], weights: list[float] | None = None, k: int = RRF_K
) -> dict[UUID, float]:
    scores: dict[UUID, float] = {}
    for ranking, weight in zip(rankings, weights or [1.0] * len(rankings), strict=True):
        for rank, chunk_id in enumerate(ranking, start=1):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + weight / (k + rank)
    return scores


async def vector_ranking(
    conn: asyncpg.Connection, embedding: np.ndarray, candidates: int, *, exact: bool
) -> list[UUID]:
    if exact:
        # Without an index scan the ORDER BY is an exact sort over the tenant's rows.
        await conn.execute("SET LOCAL enable_indexscan = off")
    else:
        # The HNSW graph spans all tenants and row-level security filters its results: iterative scans keep
        # walking the graph until enough of this tenant's rows are found (pgvector >= 0.8).
        await conn.execute(f"SET LOCAL hnsw.ef_search = {max(40, int(candidates))}")
        await conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
    rows = await conn.fetch(
        "SELECT id FROM app.copilot_chunks ORDER BY embedding <=> $1 LIMIT $2", embedding, candidates
    )
    if exact:
        await conn.execute("SET LOCAL enable_indexscan = on")
    return [r["id"] for r in rows]


def text_query(query: str) -> str | None:
    """An OR of the query's words for ``to_tsquery`` (questions rarely contain every word of the answer)."""
    words = {w.lower().replace("-", " ") for w in _WORD.findall(query)}
    terms = [" <-> ".join(part for part in w.split()) for w in sorted(words)]
    return " | ".join(t for t in terms if t) or None


async def _text_ranking(conn: asyncpg.Connection, query: str, candidates: int) -> list[UUID]:
    tsquery = text_query(query)
    if tsquery is None:
        return []
    rows = await conn.fetch(
        """SELECT id FROM app.copilot_chunks, to_tsquery('english', $1) q
           WHERE tsv @@ q ORDER BY ts_rank_cd(tsv, q, $3) DESC, id LIMIT $2""",
        tsquery,
        candidates,
        TEXT_NORMALIZATION,
    )
    return [r["id"] for r in rows]
