"""Write a synthetic inventory of N services mixing every runtime, convention and limit source."""

from __future__ import annotations

import sys
from pathlib import Path

RUNTIMES = [("go", "otel-semconv"), ("nodejs", "prometheus"), ("python", "otel-legacy"),
            ("jvm", "otel-semconv"), ("dotnet", "otel-semconv"), ("process", "prometheus")]
LIMITS = [
    "{source: static, size: 512Mi}",
    "{source: metric, metric: cadvisor, join: {k8s_namespace_name: namespace, "
    "k8s_pod_name: pod, k8s_container_name: container}}",
    "{source: metric, metric: kube-state-metrics}",
    "{source: none}",
]


def inventory(n: int, tests: bool = True, targets: tuple[str, ...] = ()) -> str:
    output = f"tests: {str(tests).lower()}"
    if targets:
        output += f", targets: [{', '.join(targets)}]"
    lines = ["version: 1", f"output: {{{output}}}", "defaults:", "  owner: platform",
             "  labels: {environment: bench}", "services:"]
    for i in range(n):
        runtime, convention = RUNTIMES[i % len(RUNTIMES)]
        lines += [
            f"  - name: svc-{i:05d}",
            f"    runtime: {runtime}",
            f"    convention: {convention}",
            f"    owner: team-{i % 50}",
            f"    memory_limit: {LIMITS[i % len(LIMITS)]}",
            f"    links: {{runbook: 'https://runbooks.example.com/svc-{i:05d}'}}",
        ]
        if i % 7 == 0:
            lines += ["    alerts:", "      memory-growth: {threshold: 20MiB/h, for: 30m}"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    n = int(sys.argv[1])
    Path(sys.argv[2]).write_text(inventory(n))
