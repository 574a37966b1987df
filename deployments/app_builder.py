"""The Serve application builder: ``deployments.app_builder:build_app``.

Used by ``chainsight serve``/``up``, by the tests and by the RayService manifest's ``serveConfigV2``;
its typed arguments keep the YAML and the code from drifting apart silently.
"""

from __future__ import annotations

from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, model_validator
from ray.serve import Application, Deployment
from ray.serve.config import AutoscalingConfig

from deployments.inventory_api import InventoryAPI
from deployments.llm_server import LLMArgs, build_llm_server


class AppArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Async database work waits on I/O, so one replica can hold many requests in flight; Serve's
    # default of 5 makes the proxy reject and retry (about 10x slower on 2 cores).
    max_ongoing_requests: int = Field(default=64, ge=1)
    min_replicas: int = Field(default=1, ge=0)
    max_replicas: int = Field(default=4, ge=1)
    target_ongoing_requests: int = Field(default=32, ge=1)
    access_log: bool = False
    # Structured logs: Serve's JSON encoding carries the request id, deployment and replica on every line,
    # and the request id follows a request across DeploymentHandle calls.
    log_encoding: Literal["JSON", "TEXT"] = "JSON"
    # The copilot (CopilotService + the vLLM LLMServer). Off, the API serves everything else without a model.
    copilot: bool = False
    llm: LLMArgs | None = None
    # Demand forecasting, seasonal analysis, supply prediction and stock targets (ForecastService, /ai/forecast).
    # Off, those routes answer 503.
    forecast: bool = True
    # Supplier and disruption risk (RiskService). Off, /ai/risk answers 503 except weights and model metadata.
    risk: bool = True
    risk_min_replicas: int = Field(default=1, ge=0)
    risk_max_replicas: int = Field(default=2, ge=1)

    @model_validator(mode="after")
    def _replica_bounds(self) -> AppArgs:
        if self.min_replicas > self.max_replicas:
            raise ValueError("min_replicas exceeds max_replicas")
        if self.copilot and self.llm is None:
            raise ValueError("copilot needs llm (model_source, device, ...)")
        return self


def build_app(args: dict[str, Any] | AppArgs | None = None) -> Application:
    parsed = args if isinstance(args, AppArgs) else AppArgs.model_validate(args or {})
    logging_config = {"enable_access_log": parsed.access_log, "encoding": parsed.log_encoding}
    inventory = cast(Deployment, InventoryAPI).options(
        max_ongoing_requests=parsed.max_ongoing_requests,
        autoscaling_config=AutoscalingConfig(
            min_replicas=parsed.min_replicas,
            max_replicas=parsed.max_replicas,
            target_ongoing_requests=parsed.target_ongoing_requests,
        ),
        logging_config=logging_config,
    )
    # Model deployments join the ingress as keyword arguments of InventoryAPI (DeploymentHandles there).
    model_deployments: dict[str, Application] = {}
    if parsed.copilot and parsed.llm is not None:
        from deployments.copilot_service import CopilotService

        llm = build_llm_server(parsed.llm)
        model_deployments["llm"] = llm
        # The answer budgets follow the engine these args run, not the replica's COPILOT_LLM_* environment.
        model_deployments["copilot"] = cast(Deployment, CopilotService).bind(
            llm=llm,
            model_id=parsed.llm.model_id,
            device=parsed.llm.device,
            max_model_len=parsed.llm.max_model_len,
            model_source=parsed.llm.model_source,
        )
    if parsed.risk:
        from deployments.risk_service import RiskService

        model_deployments["risk"] = (
            cast(Deployment, RiskService)
            .options(
                autoscaling_config=AutoscalingConfig(
                    min_replicas=parsed.risk_min_replicas,
                    max_replicas=max(parsed.risk_max_replicas, parsed.risk_min_replicas),
                    target_ongoing_requests=8,
                ),
                logging_config=logging_config,
            )
            .bind()
        )
    if parsed.forecast:
        from deployments.forecast_service import ForecastService

        model_deployments["forecast"] = cast(Deployment, ForecastService).options(logging_config=logging_config).bind()
    return inventory.bind(**model_deployments)


def serve_deployment_names(args: AppArgs | None = None) -> list[str]:
    """Names of the deployments this application creates (checked against the KubeRay manifests); with
    ``args`` that enable the copilot, its CopilotService and ``LLMServer:<model_id>`` too."""
    from deployments.forecast_service import ForecastService
    from deployments.risk_service import RiskService

    names = [
        cast(Deployment, InventoryAPI).name,
        cast(Deployment, RiskService).name,
        cast(Deployment, ForecastService).name,
    ]
    if args is not None and args.copilot and args.llm is not None:
        from deployments.copilot_service import CopilotService
        from deployments.llm_server import llm_deployment_name

        names += [cast(Deployment, CopilotService).name, llm_deployment_name(args.llm)]
    return names


__all__ = ["AppArgs", "build_app", "serve_deployment_names"]
