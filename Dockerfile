# One image for all four projects; the command names which one runs:
#   docker run IMAGE users      (see docker-compose.yml)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    APP_ENV=production \
    HOST=0.0.0.0 \
    VAR_DIR=/app/var

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY common ./common
COPY gateway_project ./gateway_project
COPY user_service ./user_service
COPY product_service ./product_service
COPY order_service ./order_service

RUN useradd --system --uid 10001 --home /app app \
    && mkdir -p /app/var \
    && chown app /app/var
USER app

# Checks the settings (a missing secret stops it with one line), optionally migrates
# (MIGRATE_ON_START=true), then execs gunicorn (WEB_SERVER=granian: granian).
ENTRYPOINT ["python", "-m", "common.entrypoint"]
CMD ["gateway"]
