"""The copilot's answer budgets by device: small on CPU (answers within seconds), the model's window on GPU."""

from __future__ import annotations

import os

import pytest

from common.config import Settings
from deployments.copilot_service import copilot_limits


@pytest.fixture(autouse=True)
def no_copilot_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # The Serve fixture exports short-answer budgets for its replicas into this process's environment.
    for name in [n for n in os.environ if n.upper().startswith("COPILOT_")]:
        monkeypatch.delenv(name)


def limits(**values: object):
    return copilot_limits(Settings(_env_file=None, **values))  # type: ignore[call-arg]


def test_cpu_defaults_keep_the_prompt_and_summary_small():
    cpu = limits(copilot_llm_device="cpu")
    assert (cpu.context_tokens - cpu.answer_tokens, cpu.answer_tokens, cpu.passages, cpu.history_turns) == (
        768,
        96,
        3,
        2,
    )


def test_gpu_defaults_use_the_whole_window_and_the_answer_cap():
    gpu = limits(copilot_llm_device="gpu", copilot_llm_max_model_len=4096, copilot_answer_tokens=512)
    assert (gpu.context_tokens, gpu.answer_tokens, gpu.passages, gpu.history_turns) == (4096, 512, 5, 4)


def test_explicit_settings_win_but_never_exceed_the_window_or_the_answer_cap():
    chosen = limits(
        copilot_prompt_tokens=4000, copilot_summary_tokens=400, copilot_answer_tokens=128, copilot_passages=1
    )
    assert (chosen.context_tokens, chosen.answer_tokens, chosen.passages) == (2048, 128, 1)
