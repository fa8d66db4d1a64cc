# scraper as a long-running container: `scraper run` on /data (config, SQLite database, posts).
#   docker build -t scraper .
#   docker run -d -v "$PWD/archive:/data" -p 9180:9180 scraper
# /data/scraper.toml is the config (SCRAPER_CONFIG to move it); every key can also come from the
# environment (SCRAPER_DATABASE_URL, SCRAPER_EXPORT_DIR, ...). See docker-compose.yml for PostgreSQL.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY scraper ./scraper
COPY migrations ./migrations
# The same step tests/test_container.py runs in a fresh venv.
RUN pip install --no-cache-dir "./[postgres]" \
    && groupadd --system --gid 10001 scraper \
    && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home scraper \
    && mkdir -p /data \
    && chown 10001:10001 /data

USER 10001:10001
WORKDIR /data
VOLUME ["/data"]

ENV SCRAPER_CONFIG=/data/scraper.toml \
    SCRAPER_DAEMON_LISTEN=0.0.0.0:9180
EXPOSE 9180

HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 CMD ["scraper", "healthcheck"]

ENTRYPOINT ["scraper"]
CMD ["run"]
