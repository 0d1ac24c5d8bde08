# The worker and API image: `docker compose` runs `whistle worker`, `whistle api` and `whistle migrate` from it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    WHISTLE_LOG_FORMAT=json

WORKDIR /app
COPY . .
RUN pip install . && useradd --system --no-create-home whistle
USER whistle

ENTRYPOINT ["whistle"]
CMD ["--help"]
