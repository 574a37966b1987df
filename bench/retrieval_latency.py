"""Vector retrieval latency at 100k chunks: HNSW vs exact search, p50/p99, and HNSW's recall against exact.

Chunks are synthetic (clustered unit vectors, 384 dimensions, like all-MiniLM-L6-v2's) so 100k of them load
in a minute instead of an hour of embedding; queries are perturbed copies of stored vectors. Every query
runs as the copilot does: in a tenant transaction under row-level security, through
``copilot.retrieval.vector_ranking`` (HNSW with iterative scan, or an exact sort with index scans off).

    .venv/bin/python bench/retrieval_latency.py [--chunks 100000] [--queries 200] [--database-url URL | --data-dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid

import asyncpg
import numpy as np
from copilot_bench_support import database_options, new_tenant, prepare_database
from pgvector.asyncpg import register_vector

from common.config import Settings
from common.database import Database, TenantTransaction, create_pool
from copilot.retrieval import vector_ranking

DIMENSIONS = 384
CHUNKS_PER_DOCUMENT = 100


def synthetic_vectors(count: int, rng: np.random.Generator, clusters: int = 200) -> np.ndarray:
    centres = rng.normal(size=(clusters, DIMENSIONS))
    vectors = centres[rng.integers(0, clusters, size=count)] + 0.6 * rng.normal(size=(count, DIMENSIONS))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


async def load(url: str, tenant: uuid.UUID, vectors: np.ndarray) -> float:
    conn = await asyncpg.connect(url)
    try:
        await register_vector(conn)
        await conn.execute("SET maintenance_work_mem = '512MB'")
        started = time.perf_counter()
        documents = (len(vectors) + CHUNKS_PER_DOCUMENT - 1) // CHUNKS_PER_DOCUMENT
        doc_ids = [uuid.uuid4() for _ in range(documents)]
        await conn.copy_records_to_table(
            "copilot_documents",
            schema_name="app",
            columns=["id", "tenant_id", "filename", "content_type", "size_bytes", "sha256", "chunk_count"],
            records=[
                (d, tenant, f"doc-{i}.txt", "text/plain", 1, "-", CHUNKS_PER_DOCUMENT) for i, d in enumerate(doc_ids)
            ],
        )
        await conn.copy_records_to_table(
            "copilot_chunks",
            schema_name="app",
            columns=["tenant_id", "document_id", "ordinal", "content", "embedding"],
            records=[
                (tenant, doc_ids[i // CHUNKS_PER_DOCUMENT], i % CHUNKS_PER_DOCUMENT, f"synthetic chunk {i}", v)
                for i, v in enumerate(vectors)
            ],
        )
        await conn.execute("ANALYZE app.copilot_chunks")
        return time.perf_counter() - started
    finally:
        await conn.close()


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


async def run(url: str, args: argparse.Namespace) -> dict:
    rng = np.random.default_rng(args.seed)
    tenant, claims = await new_tenant(url)
    vectors = synthetic_vectors(args.chunks, rng)
    load_s = await load(url, tenant, vectors)
    picks = rng.integers(0, len(vectors), size=args.queries)
    queries = vectors[picks] + 0.3 * rng.normal(size=(args.queries, DIMENSIONS)).astype(np.float32) / np.sqrt(
        DIMENSIONS
    )
    pool = await create_pool(Settings(_env_file=None, database_url=url, database_statement_timeout_ms=0))  # type: ignore[call-arg]
    database = Database(pool)
    timings: dict[str, list[float]] = {"hnsw": [], "exact": []}
    found: dict[str, list[list[uuid.UUID]]] = {"hnsw": [], "exact": []}
    for name, exact in (("hnsw", False), ("exact", True)):
        for q in queries[:3]:  # warm the cache and the plan

            async def warm(tx: TenantTransaction, q=q, exact=exact) -> list:
                return await vector_ranking(tx.conn, q, args.k, exact=exact)

            await database.run(claims, None, warm)
        for q in queries:

            async def query(tx: TenantTransaction, q=q, exact=exact) -> list:
                return await vector_ranking(tx.conn, q, args.k, exact=exact)

            started = time.perf_counter()
            ids = await database.run(claims, None, query)
            timings[name].append((time.perf_counter() - started) * 1000)
            found[name].append(ids)
    await pool.close()
    recall = statistics.mean(
        len(set(h) & set(e)) / len(e) for h, e in zip(found["hnsw"], found["exact"], strict=True) if e
    )
    return {
        "bench": "retrieval_latency",
        "chunks": args.chunks,
        "queries": args.queries,
        "k": args.k,
        "load_and_index_s": round(load_s, 1),
        "hnsw_p50_ms": round(percentile(timings["hnsw"], 50), 2),
        "hnsw_p99_ms": round(percentile(timings["hnsw"], 99), 2),
        "exact_p50_ms": round(percentile(timings["exact"], 50), 2),
        "exact_p99_ms": round(percentile(timings["exact"], 99), 2),
        "hnsw_recall_at_k": round(recall, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    database_options(parser)
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--k", type=int, default=10, help="neighbours per query (recall is measured at k)")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    url = prepare_database(args)
    s = asyncio.run(run(url, args))
    print(f"{s['chunks']} chunks loaded and indexed in {s['load_and_index_s']} s; {s['queries']} queries, k={s['k']}")
    print(f"HNSW : p50 {s['hnsw_p50_ms']} ms, p99 {s['hnsw_p99_ms']} ms, recall@{s['k']} {s['hnsw_recall_at_k']}")
    print(f"exact: p50 {s['exact_p50_ms']} ms, p99 {s['exact_p99_ms']} ms")
    print(json.dumps(s))


if __name__ == "__main__":
    main()
