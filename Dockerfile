# The gateway service. Settings come from the environment (see README, "Configuration").
# Build: docker build -t ctnm-gateway .   Run: docker run -p 8000:8000 --env-file .env ctnm-gateway
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY app ./app
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --upgrade pip \
 && /opt/venv/bin/pip install --no-cache-dir -c constraints.txt .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /srv gateway
WORKDIR /srv
COPY --from=build /opt/venv /opt/venv
COPY mappings ./mappings
ENV PATH="/opt/venv/bin:$PATH" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    GATEWAY_MAPPINGS_DIR=/srv/mappings \
    GATEWAY_DATA_DIR=/srv/data
RUN mkdir -p /srv/data && chown gateway /srv/data
USER gateway
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"
CMD ["ctnm", "serve", "--host", "0.0.0.0", "--port", "8000"]
