#!/usr/bin/env bash
# Builds the gateway's container image with podman where no image registry is reachable: the base
# image is made here from Debian packages (mmdebstrap: python3, python3-venv, ca-certificates,
# tzdata, from the host's own Debian mirror) and imported into podman's store, then the Dockerfile
# is built on it.
# With --smoke it then runs `ctnm demo` in the image and checks /healthz, an order, the image's
# HEALTHCHECK and a clean exit on SIGTERM. docs/operations.md, "Container image", explains the parts.
#
#   bash scripts/build-image.sh [--smoke] [--rebuild-base] [--no-cache]
#
# The base is made once per recipe (suite, packages, mirror, extra CA certificates: its tag carries
# their hash) and reused from podman's store after that; --rebuild-base makes it again anyway.
# Environment: IMAGE (default localhost/ctnm-gateway:VERSION), DEBIAN_SOURCES (an apt sources file;
# default the host's), PIP_INDEX_URL (default the host's pip index), CONTAINERS_CONF (default: one
# written here, see below), CTNM_IMAGE_STATE (scratch directory, default /var/tmp/ctnm-image).
set -euo pipefail
cd "$(dirname "$0")/.."

smoke=0
rebuild_base=0
no_cache=()
for arg in "$@"; do
    case "$arg" in
        --smoke) smoke=1 ;;
        --rebuild-base) rebuild_base=1 ;;
        --no-cache) no_cache=(--no-cache) ;;
        -h | --help) sed -n '2,15s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) echo "build-image.sh: unknown argument $arg (see --help)" >&2; exit 2 ;;
    esac
done

suite=bookworm
# tzdata: the markets' time zones (mappings/markets.toml) come from the system's zoneinfo.
base_packages=python3,python3-venv,ca-certificates,tzdata
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' pyproject.toml | head -n 1)
image=${IMAGE:-localhost/ctnm-gateway:${version}}
state=${CTNM_IMAGE_STATE:-/var/tmp/ctnm-image}
mkdir -p "$state"

say() { printf 'build-image: %s\n' "$*"; }
die() { printf 'build-image: %s\n' "$*" >&2; exit 1; }

# --- tools: Debian packages, installed when missing (as scripts/system-deps.sh does) ---------------
missing=()
command -v podman >/dev/null 2>&1 || missing+=(podman)
command -v mmdebstrap >/dev/null 2>&1 || missing+=(mmdebstrap)
# runc rather than crun: crun needs cgroup features that restricted hosts (cgroup v1, no systemd) lack.
command -v runc >/dev/null 2>&1 || missing+=(runc)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "installing ${missing[*]} (Debian packages)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        die "needs these Debian packages: ${missing[*]} (sudo apt-get install ${missing[*]}); run as root to build the base"
    fi
fi

# --- the base image ---------------------------------------------------------------------------------
# Same mirror as the host's apt (mmdebstrap takes a sources file as its mirror argument).
sources=${DEBIAN_SOURCES:-}
if [ -z "$sources" ]; then
    for candidate in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
        if [ -s "$candidate" ] && grep -q '^[^#]*debian' "$candidate"; then sources=$candidate; break; fi
    done
fi
if [ -z "$sources" ] || [ ! -s "$sources" ]; then
    die "no Debian apt sources found; set DEBIAN_SOURCES to an apt sources file"
fi

# A TLS-intercepting proxy re-signs pypi.org with its own CA: pip in the build must trust what the
# host trusts beyond Debian's set (local CA certificates, and a separate PIP_CERT bundle if any).
cadir="$state/extra-ca"
rm -rf "$cadir"
mkdir -p "$cadir"
if [ -d /usr/local/share/ca-certificates ]; then
    find /usr/local/share/ca-certificates -name '*.crt' -type f -exec cp {} "$cadir/" \;
fi
pip_cert=${PIP_CERT:-}
if [ -n "$pip_cert" ] && [ -f "$pip_cert" ] && [ "$(readlink -f "$pip_cert")" != /etc/ssl/certs/ca-certificates.crt ]; then
    cp "$pip_cert" "$cadir/pip-cert-bundle.crt"
fi

recipe_version=1 # raise when the mmdebstrap call below changes
base_key=$(
    {
        echo "$recipe_version $suite $base_packages"
        cat "$sources"
        find "$cadir" -type f -print0 | sort -z | xargs -0 -r cat
    } | sha256sum | cut -c1-12
)
base_image=localhost/ctnm-base:${suite}-${base_key}

if [ "$rebuild_base" = 0 ] && podman image exists "$base_image"; then
    say "base $base_image: in podman's store"
    base_seconds=0
else
    [ "$(id -u)" = 0 ] || die "making the base image needs root (mmdebstrap's root mode)"
    say "base $base_image: mmdebstrap $suite ($base_packages) from $sources"
    started=$SECONDS
    tarball="$state/base-$base_key.tar"
    # Only what runs Python: the Essential set plus those packages; no apt, no docs or locales
    # (copyright files stay). The extra CAs go into the base's trust store.
    mmdebstrap --quiet --variant=essential --include="$base_packages" \
        --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/info/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        --customize-hook="cp -r '$cadir/.' \"\$1/usr/local/share/ca-certificates/\"" \
        --customize-hook="chroot \"\$1\" update-ca-certificates >/dev/null 2>&1" \
        "$suite" "$tarball" "$sources"
    podman import --quiet \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["python3"]' \
        "$tarball" "$base_image" >/dev/null
    rm -f "$tarball"
    base_seconds=$((SECONDS - started))
    say "base $base_image: made in ${base_seconds}s"
fi
podman tag "$base_image" "localhost/ctnm-base:$suite"

# --- limits: what the runtime may set here -----------------------------------------------------------
# podman asks the runtime for nofile/nproc limits of about a million; where the process may not
# raise its limits that far, every container fails to start ("error setting rlimits ... operation not
# permitted"). On some hosts even the host's own hard limits are refused (seen: nproc above 32768), so
# the highest that a container actually starts with is probed, then written into a containers.conf for
# `podman run` and passed to `podman build` (its RUN steps do not read default_ulimits). runc rather
# than crun: crun wants cgroup features that restricted hosts (cgroup v1, no systemd) lack.
if [ -z "${CONTAINERS_CONF:-}" ]; then
    printf '# Written by scripts/build-image.sh.\n[engine]\nruntime = "runc"\n' >"$state/containers.conf"
    export CONTAINERS_CONF="$state/containers.conf"
    own_conf=1
else
    own_conf=0
fi
hard() { local v; v=$(ulimit -H "$1"); [ "$v" = unlimited ] && v=-1; echo "$v"; }
nofile=$(hard -n)
limits=()
for nproc in "$(hard -u)" 32768 4096; do
    if podman run --rm --network host --ulimit "nofile=$nofile:$nofile" --ulimit "nproc=$nproc:$nproc" \
        "$base_image" true >/dev/null 2>&1; then
        limits=(--ulimit "nofile=$nofile:$nofile" --ulimit "nproc=$nproc:$nproc")
        break
    fi
done
[ "${#limits[@]}" -gt 0 ] || die "no container starts here (podman run $base_image true fails; see podman's error)"
if [ "$own_conf" = 1 ]; then
    cat >>"$CONTAINERS_CONF" <<EOF

[containers]
default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]
EOF
fi
say "container limits: nofile $nofile, nproc $nproc ($CONTAINERS_CONF)"

# --- the image --------------------------------------------------------------------------------------
# The host's pip index, if it is an http(s) one (file:// indexes and find-links stay on the host).
index=${PIP_INDEX_URL:-}
if [ -z "$index" ] && command -v python3 >/dev/null 2>&1 && python3 -m pip --version >/dev/null 2>&1; then
    index=$(python3 -m pip config get global.index-url 2>/dev/null || true)
fi
case "$index" in http://* | https://*) ;; *) index=https://pypi.org/simple ;; esac

previous=$(podman image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
say "image $image: podman build on $base_image (pip index $index)"
started=$SECONDS
# --format docker keeps the HEALTHCHECK (OCI image configs have no field for it). Host networking:
# the build reaches the index the way the host does.
podman build --quiet --format docker --network host "${limits[@]}" "${no_cache[@]}" \
    --build-arg "BASE_IMAGE=$base_image" \
    --build-arg "PIP_INDEX_URL=$index" \
    --tag "$image" . >/dev/null
build_seconds=$((SECONDS - started))
# The image this build replaced under the same tag would stay behind untagged: CI runs every time.
if [ -n "$previous" ] && [ "$previous" != "$(podman image inspect --format '{{.Id}}' "$image")" ]; then
    podman rmi "$previous" >/dev/null 2>&1 || true
fi
size_bytes=$(podman image inspect --format '{{.Size}}' "$image")
say "image $image: built in ${build_seconds}s (base: ${base_seconds}s), $((size_bytes / 1000000)) MB"
[ -n "$(podman image inspect --format '{{if .Config.Healthcheck}}yes{{end}}' "$image")" ] \
    || die "image $image has no HEALTHCHECK (built without --format docker?)"

[ "$smoke" = 1 ] || exit 0

# --- smoke test: the demo in the container ----------------------------------------------------------
# Host networking on loopback: the demo binds 127.0.0.1 on a port free on this host. Every wait is
# bounded; the container is removed however the test ends.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
name=ctnm-smoke-$$
# podman 4.3 logs an error for the healthcheck timer it cannot create without systemd, even with
# --health-interval disable; the check itself works (`podman healthcheck run`). Keep the rest.
no_systemd_noise() { "$@" 2> >(grep -v 'unable to get systemd connection' >&2); }
cleanup() { podman rm --force --volumes --time 0 "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT
fail() {
    echo "build-image: smoke test failed: $*" >&2
    podman logs "$name" 2>&1 | tail -n 40 | sed 's/Bearer [A-Za-z0-9._-]*/Bearer …/g' >&2 || true
    exit 1
}

say "smoke: ctnm demo in $image on 127.0.0.1:$port"
# --health-interval disable: no timer (it needs systemd); `podman healthcheck run` below runs it once.
no_systemd_noise podman run --detach --name "$name" --network host --read-only --health-interval disable \
    --env "HEALTHCHECK_URL=http://127.0.0.1:$port/healthz" \
    "$image" ctnm demo --port "$port" >/dev/null

deadline=$((SECONDS + 60))
until curl --silent --fail --max-time 2 "http://127.0.0.1:$port/healthz" >/dev/null; do
    [ "$(podman inspect --format '{{.State.Running}}' "$name")" = true ] || fail "the container stopped"
    [ "$SECONDS" -lt "$deadline" ] || fail "/healthz did not answer within 60s"
    sleep 0.5
done
say "smoke: /healthz answers"

# The demo prints a ready-made request for the German store's order; take its token and URL.
deadline=$((SECONDS + 10))
# (Logs are read whole before grep: with pipefail, grep ending early would fail the pipe.)
order_request='curl -s -H "Authorization: Bearer [^"]+" http://[^ ]+/v1/orders/'
until logs=$(podman logs "$name" 2>/dev/null) && order_line=$(grep -m 1 -E "$order_request" <<<"$logs"); do
    [ "$SECONDS" -lt "$deadline" ] || fail "the demo printed no order request"
    sleep 0.5
done
token=$(sed -E 's/.*Bearer ([^"]+)".*/\1/' <<<"$order_line")
order_url=$(sed -E 's/.* (http:[^ ]+)$/\1/' <<<"$order_line")
order=$(curl --silent --show-error --fail --max-time 10 -H "Authorization: Bearer $token" "$order_url") \
    || fail "GET ${order_url#http://127.0.0.1:"$port"} did not answer 200"
grep -q '"orderNumber"' <<<"$order" || fail "the order answer has no orderNumber"
say "smoke: GET ${order_url#http://127.0.0.1:"$port"} answers an order"

podman healthcheck run "$name" >/dev/null || fail "the image's HEALTHCHECK reports unhealthy"
say "smoke: HEALTHCHECK healthy"

# SIGTERM (podman stop), 20s before podman would kill it; a clean stop exits 0 and says so.
started=$SECONDS
no_systemd_noise podman stop --time 20 "$name" >/dev/null
stop_seconds=$((SECONDS - started))
exit_code=$(podman inspect --format '{{.State.ExitCode}}' "$name")
[ "$exit_code" = 0 ] || fail "exit code $exit_code after SIGTERM (${stop_seconds}s)"
logs=$(podman logs "$name" 2>&1)
grep -q '^demo stopped$' <<<"$logs" || fail "no 'demo stopped' after SIGTERM"
say "smoke: SIGTERM stops it cleanly in ${stop_seconds}s (exit code 0)"
say "smoke: passed"
