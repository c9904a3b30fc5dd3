# accessguard worker image. Build: docker build -t accessguard .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY detectors ./detectors
COPY alerts ./alerts
COPY pipeline ./pipeline
RUN pip install . && useradd --system --uid 10001 --home-dir /data accessguard \
    && mkdir -p /data && chown accessguard /data

USER accessguard
ENV ACCESSGUARD_DATA_DIR=/data
ENTRYPOINT ["accessguard"]
CMD ["worker"]
