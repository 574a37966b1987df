"""The ``InventoryAPI`` Serve deployment: hosts the FastAPI app (the HTTP ingress of the application).

Plain CRUD stays inside this replica: a DeploymentHandle hop costs far more than the database work
(see ../shared/NOTES.md), so handles are kept for model work (forecast, risk, copilot).
"""

from __future__ import annotations

from fastapi import FastAPI
from ray import serve
from ray.serve.handle import DeploymentHandle

from common.config import get_settings
from deployments.api.app import create_api
from deployments.api.deps import ModelHandles
from deployments.ray_request_metrics import RayRequestMetrics


@serve.deployment(name="InventoryAPI")
@serve.ingress()
class InventoryAPI:
    def __init__(
        self,
        forecast: DeploymentHandle | None = None,
        risk: DeploymentHandle | None = None,
        copilot: DeploymentHandle | None = None,
        llm: DeploymentHandle | None = None,
    ) -> None:
        # Settings come from the replica's environment (Kubernetes Secrets in production).
        self._settings = get_settings()
        self._handles = ModelHandles(forecast=forecast, risk=risk, copilot=copilot, llm=llm)
        if llm is not None:
            # The OpenAI-compatible route validates requests with vLLM's models: importing them costs seconds
            # and ~470 MB, paid here at start rather than by the first caller (bench/abuse.py measured both).
            import ray.serve.llm.openai_api_models  # noqa: F401

    def __serve_build_asgi_app__(self) -> FastAPI:
        return create_api(
            self._settings, request_observers=[RayRequestMetrics("InventoryAPI")], model_handles=self._handles
        )
