"""Retrieval quality of the copilot: hybrid (vector + full text, RRF) vs vector-only vs full-text-only.

A seeded corpus of supplier agreements (bench/copilot_corpus.py: every document has the same sections
with different figures) is ingested through the real pipeline (chunking, all-MiniLM-L6-v2 embeddings,
pgvector) under row-level security; each labelled question's answer is one (document, section).
Prints recall@5 and MRR (first correct chunk in the top 10) per mode, then one JSON line.

    .venv/bin/python bench/retrieval_quality.py [--documents 20] [--database-url URL | --data-dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from copilot_bench_support import database_options, new_tenant, prepare_database
from copilot_corpus import make_corpus

from common.config import Settings
from common.database import Database, TenantTransaction, create_pool
from copilot import documents, retrieval
from copilot.embeddings import Embedder
from copilot.retrieval import SearchMode


async def run(url: str, args: argparse.Namespace) -> dict:
    corpus = make_corpus(args.documents, seed=args.seed)
    _, claims = await new_tenant(url)
    embedder = Embedder()
    pool = await create_pool(Settings(_env_file=None, database_url=url))  # type: ignore[call-arg]
    database = Database(pool)
    started = time.perf_counter()
    chunks = 0
    for filename, text in corpus.documents:
        prepared = documents.prepare(filename, text.encode(), embedder, max_bytes=10_000_000)
        chunks += len(prepared.chunks)

        async def store(tx: TenantTransaction, prepared=prepared) -> dict:
            return await documents.store(tx.conn, tx.tenant_id, tx.user_id, prepared)

        await database.run(claims, None, store)
    ingest_s = time.perf_counter() - started
    embeddings = embedder.embed([q.text for q in corpus.questions])
    results: dict[str, dict[str, float]] = {}
    for mode in SearchMode:
        hits, reciprocal = 0, 0.0
        for question, embedding in zip(corpus.questions, embeddings, strict=True):

            async def search(tx: TenantTransaction, q=question, e=embedding, m=mode) -> list:
                return await retrieval.search(tx.conn, q.text, e, limit=10, mode=m)

            passages = await database.run(claims, None, search)
            ranks = [
                i
                for i, p in enumerate(passages, start=1)
                if p.filename == question.filename and p.section == question.section
            ]
            hits += bool(ranks and ranks[0] <= 5)
            reciprocal += 1 / ranks[0] if ranks else 0.0
        n = len(corpus.questions)
        results[mode.value] = {"recall_at_5": round(hits / n, 3), "mrr": round(reciprocal / n, 3)}
    await pool.close()
    return {
        "bench": "retrieval_quality",
        "documents": len(corpus.documents),
        "chunks": chunks,
        "questions": len(corpus.questions),
        "ingest_s": round(ingest_s, 2),
        **{f"{mode}_{metric}": value for mode, figures in results.items() for metric, value in figures.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    database_options(parser)
    parser.add_argument("--documents", type=int, default=20, help="agreements in the corpus (5 questions each)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    url = prepare_database(args)
    summary = asyncio.run(run(url, args))
    print(f"{summary['documents']} documents, {summary['chunks']} chunks, {summary['questions']} questions")
    print(f"{'mode':<8} {'recall@5':>9} {'MRR':>6}")
    for mode in SearchMode:
        print(f"{mode.value:<8} {summary[f'{mode.value}_recall_at_5']:>9.3f} {summary[f'{mode.value}_mrr']:>6.3f}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
