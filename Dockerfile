# The worker and API image: `docker compose` runs `whistle worker`, `whistle api` and `whistle migrate` from it.
# Production dependencies only (requirements.lock, hashed): not the `dev` extra's Temporal and PostgreSQL
# wheels, which only `whistle dev` needs.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    WHISTLE_LOG_FORMAT=json

WORKDIR /app

# Dependencies in their own layer, from the lock alone: rebuilt only when requirements.lock changes.
COPY requirements.lock .
RUN pip install --require-hashes --no-deps -r requirements.lock

# Whistle itself, bytecode compiled at build time (the non-root user cannot write it at run time).
COPY . .
RUN pip install --no-deps . \
    && python -m compileall -q "$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" \
    && useradd --system --uid 10001 --no-create-home whistle
USER whistle

ENTRYPOINT ["whistle"]
CMD ["--help"]
