"""The application starts on the local cluster exactly as the RayService's serveConfigV2 describes."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import yaml
from ray import serve
from ray.serve.context import _get_global_client
from ray.serve.schema import ServeDeploySchema

RAYSERVICE = Path(__file__).resolve().parents[2] / "cluster" / "base" / "rayservice.yaml"
CHECK_APP = "chainsight-config-check"


def serve_config_v2() -> dict:
    for document in yaml.safe_load_all(RAYSERVICE.read_text()):
        if document and document.get("kind") == "RayService":
            return yaml.safe_load(document["spec"]["serveConfigV2"])
    raise AssertionError(f"no RayService in {RAYSERVICE}")


@pytest.mark.slow
def test_rayservice_serve_config_deploys_and_serves(serve_url):
    config = serve_config_v2()
    (application,) = [app for app in config["applications"] if app["name"] == "chainsight"]
    # Same import path, arguments and per-deployment options; only the name and route prefix differ so
    # the check runs beside the session's application instead of replacing it.
    application = {**application, "name": CHECK_APP, "route_prefix": "/config-check"}
    # The manifest's LLM runs on a GPU pod (vllm, a Hugging Face model): not on this machine. The check
    # deploys everything else as written; the copilot's block is validated against AppArgs/LLMArgs and the
    # builder's deployment names in tests/cluster, and the session's application serves CopilotService and
    # the LLMServer from the same build_app on CPU.
    assert application["args"].get("copilot") is True
    application["args"] = {k: v for k, v in application["args"].items() if k not in ("copilot", "llm")}
    application["deployments"] = [d for d in application["deployments"] if d["name"] != "CopilotService"]
    schema = ServeDeploySchema.model_validate({**config, "applications": [application]})
    # What `serve run config.yaml` / the KubeRay operator submit: the controller builds the app itself.
    _get_global_client().deploy_apps(schema, _blocking=True)
    try:
        status = serve.status().applications[CHECK_APP]
        assert status.status == "RUNNING", status.message
        configured = {d["name"] for d in application.get("deployments", [])}
        assert configured <= set(status.deployments)
        response = httpx.get(f"{serve_url}/config-check/healthz", timeout=30)
        assert response.status_code == 200
        docs = httpx.get(f"{serve_url}/config-check/openapi.json", timeout=30)
        assert "/api/v1/products" in docs.json()["paths"]
    finally:
        # Not waited for (as in test_readiness.py): a blocking delete waits out Serve's drain of the app;
        # nothing later uses this prefix, and the cluster stops with the session.
        serve.delete(CHECK_APP, _blocking=False)
