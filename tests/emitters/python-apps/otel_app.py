"""OpenTelemetry Python SDK with opentelemetry-instrumentation-system-metrics (process.* and
process.runtime.* instruments), exported one of two ways (EXPORT):

- ``prometheus``: opentelemetry-exporter-prometheus, scraped on 127.0.0.1:$PORT/metrics.
  prometheus_client's own default collectors are unregistered so that only what OpenTelemetry
  emits is exposed.
- ``otlp``: opentelemetry-exporter-otlp-proto-http, pushed every
  $OTEL_METRIC_EXPORT_INTERVAL ms to $OTLP_METRICS_URL (cumulative temporality).

The instrumentation's default configuration minus the host-wide ``system.*`` instruments (this
is about the process; system.network.connections alone costs more than the app). Resource:
service.name=$OTEL_SERVICE_NAME, service.instance.id=<host>:<pid>. LEAK=1 leaks."""

from __future__ import annotations

import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import workload  # noqa: E402
from opentelemetry import metrics  # noqa: E402
from opentelemetry.instrumentation.system_metrics import (  # noqa: E402
    _DEFAULT_CONFIG,
    SystemMetricsInstrumentor,
)
from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402

resource = Resource.create({"service.name": os.environ["OTEL_SERVICE_NAME"],
                            "service.instance.id": f"{socket.gethostname()}:{os.getpid()}"})
export = os.environ.get("EXPORT", "prometheus")
if export == "prometheus":
    import prometheus_client
    from opentelemetry.exporter.prometheus import PrometheusMetricReader

    for c in (prometheus_client.PROCESS_COLLECTOR, prometheus_client.PLATFORM_COLLECTOR,
              prometheus_client.GC_COLLECTOR):
        prometheus_client.REGISTRY.unregister(c)
    reader = PrometheusMetricReader()
    prometheus_client.start_http_server(int(os.environ["PORT"]), addr="127.0.0.1")
elif export == "otlp":
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=os.environ["OTLP_METRICS_URL"]),
        export_interval_millis=int(os.environ.get("OTEL_METRIC_EXPORT_INTERVAL", "1000")))
else:
    raise SystemExit(f"EXPORT={export!r}: prometheus or otlp")

metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=[reader]))
config = {k: v for k, v in _DEFAULT_CONFIG.items() if not k.startswith("system.")}
SystemMetricsInstrumentor(config=config).instrument()
workload.start()
while True:
    time.sleep(3600)
