"""LLM tokens/s through Ray Serve (LLMServer via a DeploymentHandle, streamed) vs the bare vLLM engine.

Both run in this one process, on the same model and engine arguments (``deployments.llm_server``): vLLM's
``LLM`` directly and the same engine inside Serve's ``LLMServer``, both loaded, measured in alternating
rounds (A/B, then B/A, same prompt and concurrency; medians, and the median of each round's paired
Serve/bare ratio), so neither ever generates while the other does and a load spike from another process
hits both. Each measures one request alone and a batch of concurrent requests, with ``ignore_eos`` so
every request generates exactly ``--max-tokens`` tokens; through Serve both streamed (an OpenAI chunk per
token, as the copilot uses it) and unstreamed.

    .venv/bin/python bench/llm_throughput.py [--model-dir DIR] [--requests 8] [--max-tokens 128]

(Run it under ``flock /tmp/chainsight-ray.lock`` on a shared machine: it starts Ray.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from copilot.model_files import ensure_smollm2_folder, offline_environment  # noqa: E402
from deployments.llm_server import LLM_MODEL_ID, LLMArgs, cpu_engine_environment, llm_config  # noqa: E402

PROMPT = "Write a short paragraph about keeping safety stock in a warehouse."


def engine_args(model: str, threads_bind: str, stream_batching_ms: float | None = None) -> LLMArgs:
    """The same engine arguments for both sides, OpenMP threads bound to the same cores."""
    return LLMArgs(model_source=model, cpu_threads_bind=threads_bind, stream_batching_interval_ms=stream_batching_ms)


class BareEngine:
    """vLLM's offline ``LLM`` in this process, with the engine arguments the deployment uses."""

    def __init__(self, model: str, max_tokens: int, threads_bind: str) -> None:
        from vllm import LLM, SamplingParams

        self.llm = LLM(model=model, **llm_config(engine_args(model, threads_bind)).engine_kwargs)
        self.params = SamplingParams(max_tokens=max_tokens, ignore_eos=True, temperature=0.0)
        self.conversation = [{"role": "user", "content": PROMPT}]
        self.measure(1)  # warm-up

    def measure(self, batch: int) -> float:
        started = time.perf_counter()
        outputs = self.llm.chat([self.conversation] * batch, self.params, use_tqdm=False)
        return sum(len(o.outputs[0].token_ids) for o in outputs) / (time.perf_counter() - started)


async def _request(handle: Any, max_tokens: int, stream: bool) -> int:
    from ray.serve.llm.openai_api_models import ChatCompletionRequest

    request = ChatCompletionRequest(
        model=LLM_MODEL_ID,
        messages=[{"role": "user", "content": PROMPT}],
        max_tokens=max_tokens,
        temperature=0.0,
        stream=stream,
        ignore_eos=True,
        stream_options={"include_usage": True} if stream else None,
    )
    tokens = 0
    async for batch in handle.options(stream=True).chat.remote(request):
        if not stream:
            return int(batch.usage.completion_tokens)
        for item in batch if isinstance(batch, list) else [batch]:
            for line in item.splitlines():
                if line.startswith("data: {"):
                    usage = json.loads(line[6:]).get("usage")
                    if usage:
                        tokens = usage["completion_tokens"]
    return tokens


def measure_alternately(
    args: argparse.Namespace, model: str
) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    """Both engines loaded at once and measured in alternating rounds (medians), so a load spike from
    another process on a shared machine hits both sides instead of one."""
    import ray
    from ray import serve
    from ray.serve.llm import build_llm_deployment

    from common.ray_connection import connect_ray

    bare_engine = BareEngine(model, args.max_tokens, args.threads_bind)
    connect_ray(num_cpus=4)
    try:
        app = build_llm_deployment(llm_config(engine_args(model, args.threads_bind, args.stream_batching_ms)))
        handle = serve.run(app, name="llm-bench", route_prefix=None)

        async def serve_round(stream: bool, batch: int) -> float:
            started = time.perf_counter()
            counts = await asyncio.gather(*(_request(handle, args.max_tokens, stream) for _ in range(batch)))
            return sum(counts) / (time.perf_counter() - started)

        bare: dict[str, list[float]] = {"single": [], "batch": []}
        served: dict[str, list[float]] = {k: [] for k in ("single", "batch", "single_unstreamed", "batch_unstreamed")}

        async def serve_both(label: str, batch: int) -> None:
            served[label].append(await serve_round(True, batch))
            served[f"{label}_unstreamed"].append(await serve_round(False, batch))

        async def rounds() -> None:
            await serve_round(True, 1)  # warm-up
            for number in range(args.rounds):
                for label, batch in (("single", 1), ("batch", args.requests)):
                    # A/B in even rounds, B/A in odd ones, so a drift in the machine's load hits both sides.
                    # The blocking call is fine: nothing is in flight on the Serve side meanwhile.
                    if number % 2:
                        await serve_both(label, batch)
                        bare[label].append(bare_engine.measure(batch))
                    else:
                        bare[label].append(bare_engine.measure(batch))
                        await serve_both(label, batch)
                    print(
                        f"round {number + 1} {label}: bare {bare[label][-1]:.1f}, served "
                        f"{served[label][-1]:.1f} / {served[label + '_unstreamed'][-1]:.1f} tokens/s",
                        flush=True,
                    )

        asyncio.run(rounds())
        # Each round's Serve/bare ratio (the pair ran back to back, under the same load), then the median.
        paired = {
            k: [s / b for s, b in zip(v, bare[k.removesuffix("_unstreamed")], strict=True)] for k, v in served.items()
        }
        return (
            {k: statistics.median(v) for k, v in bare.items()},
            {k: statistics.median(v) for k, v in served.items()},
            {k: statistics.median(v) for k, v in paired.items()},
        )
    finally:
        ray.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", type=Path, default=REPO / ".chainsight" / "models" / "smollm2-135m-instruct")
    parser.add_argument("--requests", type=int, default=8, help="concurrent requests in the batch measurement")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds; medians are reported")
    parser.add_argument(
        "--threads-bind",
        default="0",
        help="cores both engines' OpenMP threads bind to (VLLM_CPU_OMP_THREADS_BIND). Left to vLLM, the bare "
        "engine takes every core while the Serve replica, a 1-CPU Ray actor, takes one: not the same engine",
    )
    parser.add_argument(
        "--stream-batching-ms",
        type=float,
        default=None,
        help="LLMArgs.stream_batching_interval_ms for the Serve side (Ray Serve LLM's default: 50 ms)",
    )
    args = parser.parse_args()
    env = {**offline_environment(), **cpu_engine_environment(args.threads_bind)}
    if os.environ.get("LD_PRELOAD") != env.get("LD_PRELOAD"):
        # The OpenMP runtime must be preloaded before the process starts: re-exec with the engine's environment.
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **env})  # noqa: S606 (ourselves)
    model = str(ensure_smollm2_folder(args.model_dir))
    bare, served, paired = measure_alternately(args, model)
    summary = {
        "bench": "llm_throughput",
        "model": Path(model).name,
        "max_tokens": args.max_tokens,
        "requests": args.requests,
        "rounds": args.rounds,
        "threads_bind": args.threads_bind,
        "stream_batching_ms": args.stream_batching_ms,
        **{f"bare_{k}_tokens_per_s": round(v, 1) for k, v in bare.items()},
        **{f"serve_{k}_tokens_per_s": round(v, 1) for k, v in served.items()},
        **{
            f"serve_overhead_{k}_pct": round(100 * (1 - v / bare[k.removesuffix("_unstreamed")]), 1)
            for k, v in served.items()
        },
        **{f"serve_overhead_{k}_paired_pct": round(100 * (1 - v), 1) for k, v in paired.items()},
    }
    print(f"{'medians':<20} {'bare vLLM':>10} {'via Serve':>10} {'overhead':>9} {'paired':>8}")
    for k, v in served.items():
        base = bare[k.removesuffix("_unstreamed")]
        print(
            f"{k:<20} {base:>10.1f} {v:>10.1f} {summary[f'serve_overhead_{k}_pct']:>8.1f}% "
            f"{summary[f'serve_overhead_{k}_paired_pct']:>7.1f}%  tokens/s"
        )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
