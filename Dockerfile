# The gateway service. Settings come from the environment (README "Configuration", docs/operations.md
# "Container image"). `bash scripts/build-image.sh` builds it with podman on a base made from Debian
# packages (no image registry needed); any base with Debian's python3 3.11, python3-venv and
# ca-certificates will do: --build-arg BASE_IMAGE=...
# Run: podman run --env-file .env -p 8000:8000 -v ctnm-data:/srv/data localhost/ctnm-gateway:VERSION
ARG BASE_IMAGE=localhost/ctnm-base:bookworm

FROM ${BASE_IMAGE} AS build
# The host's index (the build script passes it); file:// indexes and find-links of the host do not
# exist in here, so only an http(s) index is passed on.
ARG PIP_INDEX_URL=https://pypi.org/simple
# Pinned like constraints.txt pins the rest: the one build requirement (pyproject [build-system])
# is installed by name and version, and the build sees no other index than PIP_INDEX_URL.
ARG SETUPTOOLS_VERSION=84.2.1
ENV PIP_INDEX_URL=${PIP_INDEX_URL} \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY app ./app
# The venv's own pip (Debian's python3-venv) installs the pinned tree, then pip and setuptools leave
# the venv: the runtime stage copies it and must not be able to install anything.
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --quiet "setuptools==${SETUPTOOLS_VERSION}" \
 && /opt/venv/bin/pip install --quiet --no-build-isolation -c constraints.txt . \
 && /opt/venv/bin/pip uninstall --quiet --yes setuptools pip \
 && ! /opt/venv/bin/python -m pip --version 2>/dev/null \
 && /opt/venv/bin/ctnm --version

FROM ${BASE_IMAGE}
# One fixed id for user and group, so a volume or bind mount can be given to it ahead of time
# (chown 10001:10001); the essential-only base has no useradd, and a passwd line is all it does.
ARG GATEWAY_UID=10001
# No pip here: the base's python3-venv brings pip's wheel for ensurepip, which nothing at runtime
# needs (the venv comes ready-made from the build stage). A base with pip installed is refused.
RUN if python3 -m pip --version >/dev/null 2>&1; then \
        echo "BASE_IMAGE has pip installed; the runtime image must not (use a Debian python3 base)" >&2; exit 1; \
    fi \
 && rm -rf /usr/share/python-wheels \
    "$(python3 -c 'import ensurepip, os; print(os.path.dirname(ensurepip.__file__))' 2>/dev/null)" \
 && echo "gateway:x:${GATEWAY_UID}:${GATEWAY_UID}:ctnm gateway:/srv:/usr/sbin/nologin" >> /etc/passwd \
 && echo "gateway:x:${GATEWAY_UID}:" >> /etc/group \
 && mkdir -p /srv/data \
 && chown "${GATEWAY_UID}:${GATEWAY_UID}" /srv/data \
 && chmod 0750 /srv/data
WORKDIR /srv
COPY --from=build /opt/venv /opt/venv
COPY mappings ./mappings
ENV PATH="/opt/venv/bin:$PATH" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    GATEWAY_MAPPINGS_DIR=/srv/mappings \
    GATEWAY_DATA_DIR=/srv/data
# The embedded store (links, push queue, audit trail): a volume, so it outlives the container.
# Declared after the chown: a new volume starts out owned by the gateway user.
VOLUME ["/srv/data"]
USER ${GATEWAY_UID}:${GATEWAY_UID}
EXPOSE 8000
# HEALTHCHECK_URL: for a container that listens elsewhere (the build script's smoke test runs the
# demo on a free port). Kept only in the docker image format (podman build --format docker).
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(os.environ.get('HEALTHCHECK_URL', 'http://127.0.0.1:8000/healthz'), timeout=2)"]
CMD ["ctnm", "serve", "--host", "0.0.0.0", "--port", "8000"]
