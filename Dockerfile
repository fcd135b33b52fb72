# Tiedolla's image: the app server by default; the same image runs the one-shot migration and the refresh worker
# (see compose.yaml and deploy/README.md). Build with `docker build -t tiedolla .`.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # A local warehouse (when TIEDOLLA_WAREHOUSE_URL is empty) lives in the volume, not among the code.
    TIEDOLLA_WAREHOUSE_DIR=/data/warehouse \
    # The worker's "06:00" schedule is server local time.
    TZ=Europe/Helsinki

# tzdata: local time for the schedule; nothing else is needed (psycopg and the other wheels are self-contained).
RUN apt-get update \
    && apt-get install -y --no-install-recommends tzdata \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

# The code belongs to root and is read-only for the app; the app runs as an unprivileged user that may write only
# /data (and its home, where Streamlit may keep its own files).
RUN useradd --system --create-home --uid 10001 --shell /usr/sbin/nologin tiedolla \
    && mkdir -p /data/warehouse && chown -R tiedolla:tiedolla /data
COPY . .
USER tiedolla
VOLUME ["/data"]

EXPOSE 8501
# No curl in the slim image: ask the health endpoint with Python.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).read() != b'ok')"]

# The command tests/stack.py runs for each replica of the deployment test (there with 127.0.0.1 and a free port).
CMD ["python", "-m", "ui.serve", "--server.headless", "true", "--server.address", "0.0.0.0", "--server.port", "8501", "--server.fileWatcherType", "none"]
