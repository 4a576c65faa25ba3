# The one image every service runs from; the container's argument names the service:
#   docker build -t oms:0.1.0 .
#   docker run oms:0.1.0 orders      (billing, fulfilment, production, notify, gateway)
# Kubernetes runs it as deploy/k8s says (non-root, read-only root filesystem, probes).

# -- builder: a virtual environment holding the project and the dependencies pinned in pyproject --
# Both stages use the same base, so the venv's interpreter links stay valid in the runtime stage.
FROM python:3.11.13-slim-bookworm AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/oms
# the pinned dependencies first, from pyproject.toml alone: a change of code reuses this layer
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
 && /opt/oms/bin/pip install -r requirements.txt
COPY shared ./shared
COPY services ./services
COPY oms ./oms
# the project itself (its templates, pages and fonts are package data); the .pth file silences
# eventlet's deprecation banner in every process, as `make install` does
RUN /opt/oms/bin/pip install --no-deps . \
 && cp oms/eventlet-quiet.pth "$(/opt/oms/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/"

# -- runtime: the venv only; no compiler, no pip cache, no source tree -----------------------------
FROM python:3.11.13-slim-bookworm
RUN groupadd --gid 10001 oms \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin oms
COPY --from=builder /opt/oms /opt/oms
# a read-only root filesystem: no bytecode written at run time (pip compiled it in the builder);
# var/ (SQLite files, only when no database URL is set) goes to /tmp, an emptyDir on Kubernetes
ENV PATH=/opt/oms/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    OMS_VAR_DIR=/tmp/oms \
    OMS_METRICS_ADDRESS=0.0.0.0:9102 \
    OMS_API_ADDRESS=0.0.0.0:8080
USER 10001:10001
# 9102: /metrics, /livez, /readyz (shared/health.py); 8080: the gateway's HTTP API
EXPOSE 9102 8080
# for `docker run`; Kubernetes ignores it and uses the probes in deploy/k8s instead
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9102/livez', timeout=4)"]
ENTRYPOINT ["python", "-m", "oms.serve"]
