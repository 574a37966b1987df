"""compose.yaml: valid against the Compose specification, and wired the way production runs.

No container engine runs here, so the file is checked statically: the schema (the same check as
`make compose-check`), then the settings, the migration step and the image against the code.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from tests.cluster.cluster_support import REPO

COMPOSE = REPO / "compose.yaml"
CHAINSIGHT_SERVICES = ("migrate", "app")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def settings_fields() -> set[str]:
    from common.config import Settings

    return {name.upper() for name in Settings.model_fields}


def test_compose_file_validates_against_the_compose_specification(compose_spec: Path, compose) -> None:
    validator = Draft7Validator(json.loads(compose_spec.read_text()))
    problems = [f"/{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(compose)]
    assert not problems, "\n".join(problems)


def test_the_specification_check_refuses_a_misspelt_key(compose_spec: Path, compose) -> None:
    compose["services"]["app"]["shm_sizes"] = "2gb"
    assert not Draft7Validator(json.loads(compose_spec.read_text())).is_valid(compose)


@pytest.mark.parametrize("service", CHAINSIGHT_SERVICES)
def test_chainsight_services_set_only_settings_the_app_reads(compose, service: str) -> None:
    names = set(compose["services"][service]["environment"])
    assert names - settings_fields() == set()


@pytest.mark.parametrize("service", CHAINSIGHT_SERVICES)
def test_chainsight_services_run_with_production_settings_and_required_secrets(compose, service: str) -> None:
    env = compose["services"][service]["environment"]
    assert env["ENVIRONMENT"] == "production"
    # Interpolated from the caller's environment or .env, and `docker compose` refuses to start without them.
    assert re.fullmatch(r"\$\{SUPABASE_JWT_SECRET:\?[^}]+\}", env["SUPABASE_JWT_SECRET"])
    assert "${POSTGRES_PASSWORD:?" in env["DATABASE_URL"]


def test_the_database_url_points_at_the_postgres_service_and_its_credentials(compose) -> None:
    postgres = compose["services"]["postgres"]["environment"]
    url = compose["services"]["app"]["environment"]["DATABASE_URL"]
    user, password, host, database = re.fullmatch(r"postgresql://([^:]+):(.+)@([^:/]+):5432/(\w+)", url).groups()  # type: ignore[union-attr]
    assert (user, database, host) == (postgres["POSTGRES_USER"], postgres["POSTGRES_DB"], "postgres")
    assert password == postgres["POSTGRES_PASSWORD"]


def test_postgres_is_the_maintained_pgvector_image_and_reports_health(compose) -> None:
    postgres = compose["services"]["postgres"]
    assert postgres["image"].startswith("pgvector/pgvector:")
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])


def test_migrations_run_after_postgres_is_healthy_and_before_the_app_starts(compose) -> None:
    services = compose["services"]
    program, command = services["migrate"]["command"]
    module = ast.parse((REPO / "deployments" / "cli.py").read_text())
    cli = {node.name for node in module.body if isinstance(node, ast.FunctionDef)}
    assert (program, command in cli) == ("chainsight", True)
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["app"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_the_app_is_the_dockerfiles_cpu_runtime_image(compose) -> None:
    build = compose["services"]["migrate"]["build"]
    stages = re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)", (REPO / "Dockerfile").read_text(), re.MULTILINE)
    assert build["target"] in stages and build["args"]["VARIANT"] == "cpu"
    assert compose["services"]["app"]["image"] == compose["services"]["migrate"]["image"]


def test_the_api_and_the_ray_dashboard_are_published_on_loopback_only(compose) -> None:
    app = compose["services"]["app"]
    published = {p.rsplit(":", 1)[1]: p for p in app["ports"]}
    assert published.keys() == {app["environment"]["HTTP_PORT"], app["environment"]["RAY_DASHBOARD_PORT"]}
    assert all(p.startswith("127.0.0.1:") for p in published.values())
