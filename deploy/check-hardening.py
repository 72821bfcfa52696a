"""Checks rendered Kubernetes manifests keep the pod hardening the deployment promises.

    python check-hardening.py rendered.yaml

Every workload (Deployment, StatefulSet) must run non-root under the RuntimeDefault seccomp
profile, without a service-account token, and each of its containers must have a read-only
root filesystem, no privilege escalation, all capabilities dropped, CPU and memory requests and
limits, and liveness and readiness probes. Deployments must roll out without losing capacity.
Exits 1 and names each breach otherwise.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import yaml

WORKLOADS = {"Deployment", "StatefulSet"}


def _container_breaches(pod: dict[str, Any], container: dict[str, Any]) -> Iterator[str]:
    pod_sc = pod.get("securityContext") or {}
    sc = container.get("securityContext") or {}
    if sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is not True:
        yield "runAsNonRoot is not true"
    user = sc.get("runAsUser", pod_sc.get("runAsUser"))
    if user == 0:
        yield "runAsUser is 0"
    seccomp = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
    if seccomp != "RuntimeDefault":
        yield f"seccompProfile is {seccomp!r}, not RuntimeDefault"
    if sc.get("readOnlyRootFilesystem") is not True:
        yield "readOnlyRootFilesystem is not true"
    if sc.get("allowPrivilegeEscalation") is not False:
        yield "allowPrivilegeEscalation is not false"
    if sc.get("privileged"):
        yield "privileged"
    caps = sc.get("capabilities") or {}
    if "ALL" not in (caps.get("drop") or []):
        yield "capabilities do not drop ALL"
    if caps.get("add"):
        yield f"capabilities added: {caps['add']}"
    resources = container.get("resources") or {}
    for kind in ("requests", "limits"):
        for resource in ("cpu", "memory"):
            if resource not in (resources.get(kind) or {}):
                yield f"no {resource} {kind[:-1]}"
    for probe in ("livenessProbe", "readinessProbe"):
        if probe not in container:
            yield f"no {probe}"


def breaches(doc: dict[str, Any]) -> Iterator[str]:
    kind = doc.get("kind")
    if kind not in WORKLOADS:
        return
    name = f"{kind}/{doc['metadata']['name']}"
    spec = doc["spec"]
    pod = spec["template"]["spec"]
    if pod.get("automountServiceAccountToken") is not False:
        yield f"{name}: automountServiceAccountToken is not false"
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(flag):
            yield f"{name}: {flag}"
    for container in pod.get("initContainers", []) + pod["containers"]:
        for breach in _container_breaches(pod, container):
            yield f"{name} container {container['name']}: {breach}"
    if kind == "Deployment":
        strategy = spec.get("strategy") or {}
        rolling = strategy.get("rollingUpdate") or {}
        if strategy.get("type", "RollingUpdate") != "RollingUpdate":
            yield f"{name}: strategy is not RollingUpdate"
        if str(rolling.get("maxUnavailable", "25%")) not in ("0", "0%"):
            yield f"{name}: a rollout may take replicas away (maxUnavailable is not 0)"
        if "podAntiAffinity" not in (pod.get("affinity") or {}):
            yield f"{name}: no pod anti-affinity"


def main(argv: list[str]) -> int:
    found: list[str] = []
    workloads = 0
    with open(argv[1], encoding="utf-8") as f:
        for doc in yaml.safe_load_all(f):
            if not doc:
                continue
            workloads += doc.get("kind") in WORKLOADS
            found.extend(breaches(doc))
    if workloads == 0:
        found.append("no Deployment or StatefulSet found")
    for breach in found:
        print(f"check-hardening: {argv[1]}: {breach}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
