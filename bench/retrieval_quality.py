"""Retrieval quality of the copilot: hybrid (vector + full text, RRF) vs vector-only vs full-text-only.

A seeded corpus of supplier agreements (tests/support/copilot_corpus.py: every document has the same sections
with different figures) is ingested through the real pipeline (chunking, all-MiniLM-L6-v2 embeddings,
pgvector) under row-level security; each labelled question's answer is one (document, section).

The questions are split deterministically by agreement (every other one): the fusion settings (RRF k and
the full-text weight) are chosen on the tuning half only, from each question's vector and full-text
candidates; then every mode runs through ``retrieval.search`` and the figures are reported on the held-out
half and on the full set. Prints recall@5 and MRR (first correct chunk in the top 10) per mode and half,
then one JSON line.

    .venv/bin/python bench/retrieval_quality.py [--documents 20] [--database-url URL | --data-dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Sequence

from copilot_bench_support import database_options, new_tenant, prepare_database

from common.config import Settings
from common.database import Database, TenantTransaction, create_pool
from copilot import documents, retrieval
from copilot.embeddings import Embedder
from copilot.retrieval import Fusion, Rankings, SearchMode
from tests.support.copilot_corpus import Question, make_corpus

GRID_K = (60, 1, 10, 30, 100)  # the defaults first: a setting must beat them on the tuning half to be chosen
GRID_TEXT_WEIGHT = (1.0, 0.0, 0.25, 0.5, 0.75, 1.5, 2.0)


def score(ranks: Sequence[int | None]) -> dict[str, float]:
    """recall@5 and MRR over the questions' first correct ranks (None: not in the top 10)."""
    n = len(ranks)
    return {
        "recall_at_5": round(sum(1 for r in ranks if r is not None and r <= 5) / n, 3),
        "mrr": round(sum(1 / r for r in ranks if r is not None) / n, 3),
    }


def first_correct(ranked: Sequence[tuple[str, str | None]], question: Question) -> int | None:
    for rank, (filename, section) in enumerate(ranked[:10], start=1):
        if filename == question.filename and section == question.section:
            return rank
    return None


def tune(
    found: list[Rankings], questions: list[Question], where: dict[object, tuple[str, str | None]]
) -> tuple[Fusion, dict[str, float]]:
    """The grid's best (MRR, then recall@5) fusion on these questions' candidates; the defaults win ties."""
    best, best_figures = Fusion(), {"mrr": -1.0, "recall_at_5": -1.0}
    for k in GRID_K:
        for weight in GRID_TEXT_WEIGHT:
            fusion = Fusion(k=k, vector_weight=1.0, text_weight=weight)
            ranks = []
            for f, q in zip(found, questions, strict=True):
                scores = retrieval.fuse(f, fusion)
                ranked = sorted(scores, key=lambda c: -scores[c])[:10]
                ranks.append(first_correct([where[c] for c in ranked], q))
            figures = score(ranks)
            if (figures["mrr"], figures["recall_at_5"]) > (best_figures["mrr"], best_figures["recall_at_5"]):
                best, best_figures = fusion, figures
    return best, best_figures


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
    questions = corpus.questions
    embeddings = embedder.embed([q.text for q in questions])
    agreements = list(dict.fromkeys(q.filename for q in questions))
    tuning = [agreements.index(q.filename) % 2 == 0 for q in questions]

    async def chunk_places(tx: TenantTransaction) -> dict[object, tuple[str, str | None]]:
        rows = await tx.conn.fetch(
            "SELECT c.id, d.filename, c.section FROM app.copilot_chunks c JOIN app.copilot_documents d "
            "ON d.tenant_id = c.tenant_id AND d.id = c.document_id"
        )
        return {r["id"]: (r["filename"], r["section"]) for r in rows}

    where = await database.run(claims, None, chunk_places)
    found: list[Rankings] = []
    for question, embedding in zip(questions, embeddings, strict=True):

        async def candidates(tx: TenantTransaction, q=question, e=embedding) -> Rankings:
            return await retrieval.rankings(tx.conn, q.text, e)

        found.append(await database.run(claims, None, candidates))
    tuning_questions = [q for q, t in zip(questions, tuning, strict=True) if t]
    fusion, _ = tune([f for f, t in zip(found, tuning, strict=True) if t], tuning_questions, where)

    results: dict[str, dict[str, float]] = {}
    for mode in SearchMode:
        ranks: list[int | None] = []
        for question, embedding in zip(questions, embeddings, strict=True):

            async def search(tx: TenantTransaction, q=question, e=embedding, m=mode) -> list:
                return await retrieval.search(tx.conn, q.text, e, limit=10, mode=m, fusion=fusion)

            passages = await database.run(claims, None, search)
            ranks.append(first_correct([(p.filename, p.section) for p in passages], question))
        results[f"{mode.value}_heldout"] = score([r for r, t in zip(ranks, tuning, strict=True) if not t])
        results[f"{mode.value}_tuning"] = score([r for r, t in zip(ranks, tuning, strict=True) if t])
        results[mode.value] = score(ranks)
    await pool.close()
    return {
        "bench": "retrieval_quality",
        "documents": len(corpus.documents),
        "chunks": chunks,
        "questions": len(questions),
        "tuning_questions": sum(tuning),
        "heldout_questions": len(questions) - sum(tuning),
        "rrf_k": fusion.k,
        "rrf_vector_weight": fusion.vector_weight,
        "rrf_text_weight": fusion.text_weight,
        "ingest_s": round(ingest_s, 2),
        **{f"{part}_{metric}": value for part, figures in results.items() for metric, value in figures.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    database_options(parser)
    parser.add_argument("--documents", type=int, default=20, help="agreements in the corpus (5 questions each)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    url = prepare_database(args)
    summary = asyncio.run(run(url, args))
    print(
        f"{summary['documents']} documents, {summary['chunks']} chunks, {summary['questions']} questions "
        f"({summary['tuning_questions']} tuning, {summary['heldout_questions']} held out)"
    )
    print(
        f"chosen on the tuning half: RRF k {summary['rrf_k']}, vector weight {summary['rrf_vector_weight']}, "
        f"text weight {summary['rrf_text_weight']}"
    )
    print(f"{'mode':<8} {'held-out R@5':>13} {'MRR':>6} {'all R@5':>8} {'MRR':>6} {'tuning R@5':>11} {'MRR':>6}")
    for mode in SearchMode:
        m = mode.value
        print(
            f"{m:<8} {summary[f'{m}_heldout_recall_at_5']:>13.3f} {summary[f'{m}_heldout_mrr']:>6.3f} "
            f"{summary[f'{m}_recall_at_5']:>8.3f} {summary[f'{m}_mrr']:>6.3f} "
            f"{summary[f'{m}_tuning_recall_at_5']:>11.3f} {summary[f'{m}_tuning_mrr']:>6.3f}"
        )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
