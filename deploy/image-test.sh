#!/usr/bin/env bash
# Builds the service image and proves it works the way it is deployed: read-only root
# filesystem, tmpfs /tmp, no capabilities, no privilege escalation, a password-protected Redis,
# several workers. Then calls the API the way an EHR would and checks the answers.
#
#   deploy/image-test.sh        (run from anywhere; needs podman, python3, and redis-server or a
#                                Redis answering on $REDIS_URL)
#
# Env:
#   IMAGE       tag to build and test (default localhost/trd-cds:test)
#   BASE_IMAGE  base for both stages; unset: deploy/build-base.sh builds (or reuses) a Debian
#               bookworm + python3.11 image, for machines that cannot pull python:3.11-slim
#   REDIS_URL   use this Redis instead of starting a private redis-server
#   SKIP_BUILD  1: test the existing $IMAGE as is
#   NO_CACHE    1: build without cached layers (a cold build; the base image is still reused)
# Every container and process it starts is stopped on exit, by its own id.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

IMAGE="${IMAGE:-localhost/trd-cds:test}"
WORKERS="${WORKERS:-2}"
t_start=$SECONDS

die() { echo "image-test: FAIL: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null || die "$1 is missing${2:+ ($2)}"; }
need podman "apt-get install podman buildah runc"
need python3

# Limits for the containers: explicit, and never above what this shell may grant.
cap_limit() {
  local hard="$1" want="$2"
  if [[ "$hard" == unlimited || "$hard" -gt "$want" ]]; then echo "$want"; else echo "$hard"; fi
}
nofile="$(cap_limit "$(ulimit -Hn)" 65536)"
nproc="$(cap_limit "$(ulimit -Hu)" 4096)"
ulimits=(--ulimit "nofile=$nofile:$nofile" --ulimit "nproc=$nproc:$nproc")

# The machine's pip configuration decides where the build's pip looks: its index (it may be a
# mirror) and its CA bundle. Only http(s) indexes can be reached from inside the build.
pip_setting() {
  # `pip config list` shows every file and PIP_* variable as key='value'; the last one wins.
  local name="$1"
  { python3 -m pip config list 2>/dev/null || true; } \
    | sed -n -E "s/^(global|install|:env:)\.$name='(.*)'\$/\2/p" | tail -n 1
}

cid=""
cids=()
redis_pid=""
redis_log=""
cleanup() {
  local rc=$?
  if [[ -n "$cid" && $rc -ne 0 ]]; then
    echo "--- service log (last 40 lines)" >&2
    podman logs --tail 40 "$cid" >&2 2>&1 || true
  fi
  for id in "${cids[@]}"; do
    podman rm -f -t 5 "$id" >/dev/null 2>&1 || true
  done
  if [[ -n "$redis_pid" ]]; then
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
    [[ $rc -ne 0 ]] && tail -n 20 "$redis_log" >&2
    rm -f "$redis_log"
  fi
  exit $rc
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --------------------------------------------------------------------------- 1. build
base_seconds=0
build_seconds=0
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  if [[ -z "${BASE_IMAGE:-}" ]]; then
    BASE_IMAGE="${BASE_TAG:-localhost/trd-cds-base:3.11-bookworm}"
    t=$SECONDS
    BASE_TAG="$BASE_IMAGE" deploy/build-base.sh
    base_seconds=$((SECONDS - t))
  fi
  build_args=(--build-arg "BASE_IMAGE=$BASE_IMAGE")
  index_url="${PIP_INDEX_URL:-$(pip_setting index-url)}"
  if [[ "$index_url" == http://* || "$index_url" == https://* ]]; then
    build_args+=(--build-arg "PIP_INDEX_URL=$index_url")
  fi
  ca="${PIP_CERT:-$(pip_setting cert)}"
  [[ -z "$ca" && -s /etc/ssl/certs/ca-certificates.crt ]] && ca=/etc/ssl/certs/ca-certificates.crt
  cache_args=()
  [[ "${NO_CACHE:-0}" == 1 ]] && cache_args=(--no-cache)
  secret_args=()
  [[ -n "$ca" && -s "$ca" ]] && secret_args=(--secret "id=ca,src=$ca")

  t=$SECONDS
  podman build \
    --isolation chroot --network host --format docker --layers \
    "${ulimits[@]}" "${build_args[@]}" "${secret_args[@]}" "${cache_args[@]}" \
    --ignorefile deploy/Dockerfile.dockerignore \
    -f deploy/Dockerfile -t "$IMAGE" .
  build_seconds=$((SECONDS - t))
fi
podman image exists "$IMAGE" || die "no image $IMAGE"
size_bytes="$(podman image inspect --format '{{.Size}}' "$IMAGE")"

# --------------------------------------------------------------------------- 2. Redis + service
redis_password=""
if [[ -n "${REDIS_URL:-}" ]]; then
  redis_url="$REDIS_URL"
else
  need redis-server "apt-get install redis-server, or set REDIS_URL"
  redis_port="$(free_port)"
  redis_log="$(mktemp)"
  redis_password="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
  # Same settings as compose.yaml: a password, no persistence, bounded memory.
  redis-server --bind 127.0.0.1 --port "$redis_port" --requirepass "$redis_password" \
    --save '' --appendonly no --maxmemory 64mb --maxmemory-policy allkeys-lru \
    --dir /tmp --logfile "$redis_log" --loglevel warning &
  redis_pid=$!
  redis_url="redis://:$redis_password@127.0.0.1:$redis_port/0"
fi

# Starts the image the way it is deployed; sets cid and port.
cids=()
start_service() {
  local redis="$1" workers="$2"
  port="$(free_port)"
  # Stderr of `podman run` is dropped: podman logs harmless healthcheck-timer complaints on
  # machines without systemd. Failures still show: no container id, then the checks fail.
  cid="$(podman run -d --runtime runc "${ulimits[@]}" \
    --network host \
    --read-only --tmpfs /tmp:rw,size=16m,mode=1777 \
    --cap-drop ALL --security-opt no-new-privileges \
    -e "TRD_PORT=$port" -e "TRD_WORKERS=$workers" -e "TRD_REDIS_URL=$redis" \
    -e "TRD_ENV=development" \
    "$IMAGE" 2>/dev/null)" || die "podman run failed: podman run --runtime runc $IMAGE"
  cids+=("$cid")
  echo "image-test: container ${cid:0:12} on port $port, $workers workers"
}
start_service "$redis_url" "$WORKERS"

# --------------------------------------------------------------------------- 3.+4. API checks
bundle="fhir_examples/classic-trd.json"
[[ -f "$bundle" ]] || bundle="$(find fhir_examples -maxdepth 1 -name '*.json' | sort | head -n 1)"
[[ -n "$bundle" ]] || die "no FHIR Bundle in fhir_examples/"
hook_request="fhir_examples/cds-hooks/patient-view-prefetch.json"
[[ -f "$hook_request" ]] || hook_request=""

python3 - "http://127.0.0.1:$port" "$bundle" "$hook_request" <<'PY'
import json
import sys
import time
import urllib.error
import urllib.request
import uuid

base, bundle_path, hook_path = sys.argv[1], sys.argv[2], sys.argv[3]


def call(method, path, body=None, timeout=10.0):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(errors="replace")


def check(ok, what):
    if not ok:
        sys.exit(f"image-test: FAIL: {what}")
    print(f"image-test: ok   {what}")


def check_cards(answer, what):
    ok = isinstance(answer, dict) and isinstance(answer.get("cards"), list)
    ok = ok and all({"summary", "indicator", "source"} <= card.keys() for card in answer["cards"])
    count = len(answer["cards"]) if ok else "?"
    check(ok, f"{what} answers a cards array (cards: {count})")


# Readiness: the rules compile at start-up; give them a minute on a slow machine. Each call is
# a new connection, answered by whichever worker accepts it, and each worker loads its own
# rules: the service is ready when ten answers in a row say so, not when the first one does.
deadline = time.monotonic() + 60
status, body, ready_in_a_row = 0, None, 0
while time.monotonic() < deadline and ready_in_a_row < 10:
    try:
        status, body = call("GET", "/readyz", timeout=2)
        ready_in_a_row = ready_in_a_row + 1 if status == 200 else 0
    except (OSError, ValueError):
        ready_in_a_row = 0
    if ready_in_a_row == 0:
        time.sleep(0.5)
check(status == 200 and body.get("status") == "ready", f"GET /readyz ready ({body})")
check(call("GET", "/livez")[0] == 200, "GET /livez")

status, discovery = call("GET", "/cds-services")
services = discovery.get("services") if status == 200 else None
check(isinstance(services, list) and services, "GET /cds-services lists services")
view = next((s for s in services if s.get("hook") == "patient-view"), None)
check(view is not None, f"a patient-view service is offered ({view and view['id']})")

with open(bundle_path, encoding="utf-8") as f:
    bundle = json.load(f)
if hook_path:
    with open(hook_path, encoding="utf-8") as f:
        hook_request = json.load(f)
else:
    # No example request: prefetch the bundle's resources under the service's own keys.
    resources = [e["resource"] for e in bundle.get("entry", [])]
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    prefetch = {}
    for key, template in (view.get("prefetch") or {}).items():
        wanted = template.split("?")[0].split("/")[0]
        if wanted == "Patient":
            prefetch[key] = patient
        else:
            matches = [r for r in resources if r["resourceType"] == wanted]
            prefetch[key] = {
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [{"resource": r} for r in matches],
            }
    hook_request = {
        "hookInstance": str(uuid.uuid4()),
        "hook": "patient-view",
        "context": {"userId": "Practitioner/example", "patientId": patient["id"]},
        "prefetch": prefetch,
    }

status, answer = call("POST", f"/cds-services/{view['id']}", hook_request)
check(status == 200, f"POST /cds-services/{view['id']} -> {status}")
check_cards(answer, "the patient-view hook")

status, answer = call("POST", "/evaluate", bundle)
check(status == 200, f"POST /evaluate -> {status}")
check_cards(answer, "/evaluate")
check(isinstance(answer.get("assessment"), dict), "/evaluate answers an assessment")
PY

# --------------------------------------------------------------------------- 5. hardening
uids="$(podman top "$cid" huser 2>/dev/null | tail -n +2 | sort -u | tr '\n' ' ')"
[[ -n "$uids" ]] || die "cannot list the container's processes"
for uid in $uids; do
  [[ "$uid" != 0 && "$uid" != root ]] || die "a process in the container runs as root ($uids)"
done
echo "image-test: ok   every process runs as a non-root user (host uids: $uids)"
inside_uid="$(podman exec "$cid" id -u)"
[[ "$inside_uid" != 0 ]] || die "podman exec runs as root"
echo "image-test: ok   the image's user is uid $inside_uid"
if podman exec "$cid" sh -c ': > /opt/trd-cds/probe' 2>/dev/null; then
  die "the root filesystem is writable"
fi
echo "image-test: ok   the root filesystem is read-only"
podman exec "$cid" sh -c ': > /tmp/probe && rm /tmp/probe' || die "/tmp is not writable"
echo "image-test: ok   /tmp is writable"
# shellcheck disable=SC2016 # expanded by the container's shell
tools_found="$(podman exec "$cid" sh -c \
  'for t in node npm gcc cc make pip pip3; do command -v "$t"; done
   python3 -m pip --version 2>/dev/null' || true)"
[[ -z "$tools_found" ]] || die "build tools in the runtime image: $tools_found"
echo "image-test: ok   no Node, compiler, make or pip in the image"
podman healthcheck run "$cid" >/dev/null || die "the image's HEALTHCHECK fails"
echo "image-test: ok   HEALTHCHECK (/livez) passes"

if [[ -n "$redis_password" ]] && command -v redis-cli >/dev/null; then
  keys="$(REDISCLI_AUTH="$redis_password" redis-cli -p "$redis_port" dbsize)"
  [[ "$keys" =~ ^[0-9]+$ && "$keys" -gt 0 ]] || die "nothing was cached in Redis (dbsize: $keys)"
  echo "image-test: ok   results were cached in the password-protected Redis ($keys keys)"
fi

# --------------------------------------------------------------------------- 6. graceful stop
podman stop -t 15 "$cid" >/dev/null 2>&1
exit_code="$(podman inspect --format '{{.State.ExitCode}}' "$cid")"
[[ "$exit_code" == 0 ]] || die "the service exited with $exit_code on SIGTERM"
echo "image-test: ok   SIGTERM stops the service cleanly (exit 0)"

# --------------------------------------------------------------------------- 7. fail-open
# Redis is a cache, not a dependency: with nothing listening at its address the service must
# still become ready and answer.
start_service "redis://:unused@127.0.0.1:$(free_port)/0" 1
python3 - "http://127.0.0.1:$port" "$bundle" <<'PY'
import json
import sys
import time
import urllib.request

base, bundle_path = sys.argv[1], sys.argv[2]
deadline = time.monotonic() + 60
while True:
    try:
        with urllib.request.urlopen(base + "/readyz", timeout=2) as resp:
            if resp.status == 200:
                break
    except OSError:
        pass
    if time.monotonic() > deadline:
        sys.exit("image-test: FAIL: not ready without Redis")
    time.sleep(0.5)
with open(bundle_path, "rb") as f:
    req = urllib.request.Request(
        base + "/evaluate", data=f.read(), headers={"Content-Type": "application/json"}
    )
with urllib.request.urlopen(req, timeout=10) as resp:
    answer = json.loads(resp.read())
if not isinstance(answer.get("cards"), list):
    sys.exit("image-test: FAIL: /evaluate without Redis has no cards array")
print(f"image-test: ok   without Redis: ready, /evaluate answers (cards: {len(answer['cards'])})")
PY

echo "image-test: PASS image $IMAGE, $((size_bytes / 1000000)) MB;" \
  "base ${base_seconds}s, build ${build_seconds}s, total $((SECONDS - t_start))s"
