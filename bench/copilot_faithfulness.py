"""Faithfulness of the copilot's answers on the demo tenant, asked through the live stack (POST /ask, streamed).

Each question (``bench/copilot_faithfulness_cases.py``, 60+: late POs, stock of a SKU, next month's demand,
the riskiest supplier, shipments in transit, the demo documents, honest "nothing found" questions and
adversarial ones) carries facts its answer must and must not contain, read from the live database at run
time. Prints per kind, then: unsupported-claim rate (figures, dates, codes and tenant names in the answers
that the turn's context, i.e. its tool rows and retrieved passages, does not contain), required-fact recall,
forbidden facts stated, correct "nothing found" rate, tool-choice accuracy (exact set of live-data tools
against the question's label; no bench question is in the classifier's training, held-out or validation set), time to
first token and total time (p50/p95), and one JSON line.

    python bench/copilot_faithfulness.py [--database-url URL | --data-dir DIR] [--env COPILOT_SUMMARY_TOKENS=96]
    python bench/copilot_faithfulness.py --base-url http://127.0.0.1:8000 --database-url URL --jwt-secret S

Without --base-url it starts the stack itself (embedded PostgreSQL, demo data, Ray, Serve with the copilot on
CPU); run it under ``flock /tmp/chainsight-heavy.lock`` on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.copilot_faithfulness_cases import DOCUMENTS, Case, build_cases  # noqa: E402
from common.config import Settings  # noqa: E402
from common.database import Database, TenantTransaction, create_pool  # noqa: E402
from common.dev_tokens import issue_hs256_token  # noqa: E402
from copilot import grounding  # noqa: E402
from copilot.tool_questions import HELD_OUT, TRAIN  # noqa: E402
from copilot.tool_validation import VALIDATION  # noqa: E402
from copilot.tools import TOOLS  # noqa: E402
from inventory.demo import DEMO_PLANNER_ID, DEMO_TENANT_ID  # noqa: E402
from tests.support.ports import free_port  # noqa: E402

BENCH_SECRET = "bench-secret-for-chainsight-copilot-0123456789abcdef"
COPILOT = "/api/v1/ai/copilot"
_CITATIONS = re.compile(r"\[(?:[a-z_]+#\d+|\d{1,2})\]")
_CORRECTION = re.compile(r"\(Corrected: \d+ sentence\(s\) of the summary were removed [^)]*\)")


def states(answer: str, fact: str, names: list[str]) -> bool:
    """Whether ``answer`` states ``fact``: figures and codes as claims (``1,000`` = ``1000``), text as text."""
    claims = grounding.extract(_CITATIONS.sub(" ", answer), names)
    wanted = grounding.extract(fact, names)
    if wanted.numbers or wanted.codes or wanted.dates:
        return (
            wanted.numbers <= claims.numbers
            and wanted.codes <= claims.codes
            and wanted.dates <= claims.dates
            and (not fact.endswith("%") or fact in answer)
        )
    return fact.lower() in answer.lower()


async def ask(http: httpx.AsyncClient, headers: dict[str, str], question: str) -> dict[str, Any]:
    """One streamed answer: its ``done`` event, seconds to the first text, to the model's first text, in all."""
    while True:
        started = time.perf_counter()
        first = model_first = None
        done: dict[str, Any] = {}
        tokens = 0
        async with http.stream("POST", f"{COPILOT}/ask", json={"question": question}, headers=headers) as response:
            if response.status_code == 429:
                await asyncio.sleep(int(response.headers.get("Retry-After", "5")))
                continue
            if response.status_code != 200:
                raise RuntimeError(f"{question!r}: {response.status_code} {(await response.aread())[:300]!r}")
            async for line in response.aiter_lines():
                if not line.startswith("data: "):
                    continue
                event = json.loads(line.removeprefix("data: "))
                if event["event"] == "token":
                    tokens += 1
                    now = time.perf_counter() - started
                    first = first if first is not None else now
                    model_first = now if tokens == 2 else model_first
                elif event["event"] == "done":
                    done = event
                elif event["event"] == "error":
                    raise RuntimeError(f"{question!r}: {event}")
        return {"done": done, "ttft": first, "model_ttft": model_first, "total": time.perf_counter() - started}


async def context_of(database: Database, claims: dict[str, str], done: dict[str, Any]) -> list[str]:
    """The turn's context rebuilt from the stored rows: tool result lines and the cited chunks' text."""
    texts = [line for call in done["tool_calls"] for line in call["result"]]

    async def chunks(tx: TenantTransaction) -> list[str]:
        ids = [s["chunk_id"] for s in done["sources"]]
        rows = await tx.conn.fetch("SELECT content FROM app.copilot_chunks WHERE id = ANY($1::uuid[])", ids)
        return [r["content"] for r in rows]

    texts += await database.run(claims, DEMO_TENANT_ID, chunks)
    for s in done["sources"]:
        where = [s["filename"], *([f"section '{s['section']}'"] if s["section"] else [])]
        texts.append(", ".join(where + ([f"page {s['page']}"] if s["page"] else [])))
    return texts


def score(case: Case, answer: str, context: list[str], called: set[str], names: list[str]) -> dict[str, Any]:
    # The service's own note that it removed sentences ("Corrected: 2 sentence(s) ...") states no data.
    answer = _CORRECTION.sub("", answer)
    text = _CITATIONS.sub(" ", answer)
    claims = grounding.extract(text, names)
    backed = grounding.Checker(context, names).check(text)
    found = [f for f in case.must if states(answer, f, names)]
    first_line = answer.strip().splitlines()[0].lower() if answer.strip() else ""
    return {
        "kind": case.kind,
        "question": case.question,
        "claims": len(claims.numbers | claims.dates | claims.codes | claims.names),
        "unsupported": backed.unsupported,
        "required": len(case.must),
        "found": len(found),
        "missing": [f for f in case.must if f not in found],
        "forbidden": [f for f in case.must_not if states(answer, f, names)],
        "none": case.none,
        "none_ok": case.none and first_line.startswith("nothing found"),
        "tools_ok": called == set(case.tools),
        "called": sorted(called),
    }


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2) if ordered else 0.0


async def bench(args: argparse.Namespace, base: str, settings: Settings) -> dict[str, Any]:
    token = issue_hs256_token(args.jwt_secret, DEMO_PLANNER_ID, tenant_id=DEMO_TENANT_ID, expires_in_s=7200)
    headers = {"Authorization": f"Bearer {token}"}
    claims = {"sub": str(DEMO_PLANNER_ID), "role": "authenticated", "aud": "authenticated"}
    pool = await create_pool(settings)
    database = Database(pool)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=300) as http:
            for doc in DOCUMENTS:
                files = {"file": (doc.filename, doc.text.encode())}
                response = await http.post(f"{COPILOT}/documents", files=files, headers=headers)
                response.raise_for_status()
            cases = await database.run(claims, DEMO_TENANT_ID, build_cases)
            seen = {q.lower() for q, _ in TRAIN + HELD_OUT + VALIDATION}
            leaked = [c.question for c in cases if c.question.lower() in seen]
            if leaked:
                raise SystemExit(f"bench questions also in the tool classifier's question sets: {leaked}")
            cases = cases[: args.max_questions] if args.max_questions else cases
            names = await database.run(claims, DEMO_TENANT_ID, lambda tx: grounding.tenant_names(tx.conn))
            await ask(http, headers, "Hello")  # warm-up (not scored): first call compiles the engine's kernels
            rows = []
            for i, case in enumerate(cases, start=1):
                got = await ask(http, headers, case.question)
                answer = got["done"]["answer"]
                context = await context_of(database, claims, got["done"])
                called = {c["tool"] for c in got["done"]["tool_calls"]} & set(TOOLS)
                row = score(case, answer, context, called, names) | {k: got[k] for k in ("ttft", "model_ttft", "total")}
                row["answer"], row["context"] = answer, context
                rows.append(row)
                flags = "".join(
                    [
                        "U" if row["unsupported"] else "",
                        "M" if row["missing"] else "",
                        "F" if row["forbidden"] else "",
                        "T" if not row["tools_ok"] else "",
                    ]
                )
                print(f"{i:3d} {case.kind:17s} {got['total']:5.1f}s {flags or 'ok':4s} {case.question}", flush=True)
    finally:
        await pool.close()
    return summarise(rows, args)


def summarise(rows: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    claims = sum(r["claims"] for r in rows)
    unsupported = sum(len(r["unsupported"]) for r in rows)
    nones = [r for r in rows if r["none"]]
    if args.details:
        args.details.write_text(json.dumps(rows, indent=1, default=str))
    for r in rows:
        if r["unsupported"] or r["missing"] or r["forbidden"] or not r["tools_ok"]:
            print(f"- {r['question']}: unsupported {r['unsupported']}, missing {r['missing']}, "
                  f"forbidden {r['forbidden']}, tools {r['called']}")  # fmt: skip
    ttft = [r["ttft"] for r in rows if r["ttft"] is not None]
    model_ttft = [r["model_ttft"] for r in rows if r["model_ttft"] is not None]
    totals = [r["total"] for r in rows]
    result = {
        "questions": len(rows),
        "unsupported_claim_rate": round(unsupported / claims, 4) if claims else 0.0,
        "unsupported_claims": unsupported,
        "claims": claims,
        "answers_with_unsupported": sum(bool(r["unsupported"]) for r in rows),
        "required_fact_recall": round(sum(r["found"] for r in rows) / max(1, sum(r["required"] for r in rows)), 4),
        "forbidden_facts_stated": sum(len(r["forbidden"]) for r in rows),
        "nothing_found_correct": round(sum(r["none_ok"] for r in nones) / max(1, len(nones)), 4),
        "nothing_found_questions": len(nones),
        "tool_choice_accuracy": round(sum(r["tools_ok"] for r in rows) / max(1, len(rows)), 4),
        "ttft_p50_s": pct(ttft, 0.5),
        "ttft_p95_s": pct(ttft, 0.95),
        "model_first_token_p50_s": pct(model_ttft, 0.5),
        "model_first_token_p95_s": pct(model_ttft, 0.95),
        "total_p50_s": pct(totals, 0.5),
        "total_p95_s": pct(totals, 0.95),
        "total_mean_s": round(statistics.fmean(totals), 2) if totals else 0.0,
        "env": args.env,
    }
    for key, value in result.items():
        print(f"{key:28s} {value}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", help="a running stack (default: start one here)")
    parser.add_argument("--database-url", help="PostgreSQL to use (default: an embedded server in --data-dir)")
    parser.add_argument("--data-dir", type=Path, default=REPO / ".chainsight" / "bench-copilot-pgdata")
    parser.add_argument("--jwt-secret", default=None, help="the stack's SUPABASE_JWT_SECRET (with --base-url)")
    parser.add_argument("--max-questions", type=int, default=0, help="ask only the first N (0: all)")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the stack started here")
    parser.add_argument("--details", type=Path, help="write every question, answer and verdict to this JSON file")
    args = parser.parse_args()
    from deployments.local_stack import ensure_database, migrate, seed

    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    if args.base_url:
        args.jwt_secret = args.jwt_secret or os.environ.get("SUPABASE_JWT_SECRET")
        if not (args.jwt_secret and args.database_url):
            parser.error("--base-url needs --database-url and --jwt-secret (or SUPABASE_JWT_SECRET)")
        result = asyncio.run(bench(args, args.base_url, Settings(_env_file=None)))  # type: ignore[call-arg]
        print(json.dumps(result))
        return
    args.jwt_secret = BENCH_SECRET
    os.environ.update(
        {
            "ENVIRONMENT": "development",
            "SUPABASE_JWT_SECRET": BENCH_SECRET,
            "HTTP_PORT": str(free_port()),
            "RAY_SERVE_HAPROXY_METRICS_PORT": str(free_port()),
            "RAY_SERVE_HAPROXY_STATS_PORT": str(free_port()),
            "COPILOT_QUESTIONS_PER_MINUTE": "1000",
        }
    )
    os.environ.update(dict(item.split("=", 1) for item in args.env))
    settings = Settings(_env_file=None, embedded_postgres_dir=args.data_dir)  # type: ignore[call-arg]
    url = ensure_database(settings)
    migrate(url)
    seed(url)
    served = Settings(_env_file=None)  # type: ignore[call-arg]
    import ray

    from deployments.app_builder import AppArgs
    from deployments.llm_server import llm_args_from
    from deployments.local_stack import start_ray, start_serve

    start_ray(served, num_cpus=16, include_dashboard=False, log_to_driver=False)
    try:
        start_serve(served, AppArgs(min_replicas=1, max_replicas=1, copilot=True, llm=llm_args_from(served)))
        result = asyncio.run(bench(args, f"http://{served.http_host}:{served.http_port}", served))
    finally:
        ray.shutdown()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
