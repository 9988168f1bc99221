# One image for all four projects; the command names which one runs:
#   docker run IMAGE users      (see docker-compose.yml and deploy/k8s/)
#
# Two stages: the first installs the runtime lock (requirements.txt, hash-pinned; the
# tests' and linters' requirements-dev.txt stays out) into a virtualenv and collects
# every project's static files; the second copies only that virtualenv, the code and
# the static files onto a clean slim base. Every locked package ships a wheel, so
# neither stage needs a compiler.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build

ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app
COPY requirements.txt .
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --only-binary=:all: --no-cache-dir --require-hashes \
        -r requirements.txt

COPY common ./common
COPY gateway_project ./gateway_project
COPY user_service ./user_service
COPY product_service ./product_service
COPY order_service ./order_service

# Static files at build time, so a container never writes them. Development mode with a
# throwaway VAR_DIR lets the settings load without production secrets; what it generated
# there (keys, secrets) is dropped with it, only static/ is kept.
RUN for project in gateway_project user_service product_service order_service; do \
        APP_ENV=development VAR_DIR=/tmp/build DJANGO_SETTINGS_MODULE="$project.settings" \
            /opt/venv/bin/python -m django collectstatic --noinput -v 0 || exit 1; \
    done \
    && mkdir -p /app/var \
    && mv /tmp/build/static /app/var/static \
    && rm -rf /tmp/build


FROM ${PYTHON_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    APP_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    VAR_DIR=/app/var

# A numeric uid, so Kubernetes' runAsNonRoot can check it without /etc/passwd.
RUN useradd --system --uid 10001 --gid 0 --home-dir /app --no-create-home app

WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=10001:0 /app/var /app/var
COPY common ./common
COPY gateway_project ./gateway_project
COPY user_service ./user_service
COPY product_service ./product_service
COPY order_service ./order_service

USER 10001

# Readiness of whichever project runs here: its database and cache (PORT is the project's).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=5 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/ready' % os.environ.get('PORT', '8000'), timeout=2)"]

# Checks the settings (a missing secret stops it with one line), optionally migrates
# (MIGRATE_ON_START=true or --migrate), then execs gunicorn (WEB_SERVER=granian: granian).
ENTRYPOINT ["python", "-m", "common.runtime.entrypoint"]
CMD ["gateway"]
