'use strict';
// OpenTelemetry JS: @opentelemetry/sdk-metrics with @opentelemetry/instrumentation-runtime-node
// (v8js.*, nodejs.eventloop.*) and @opentelemetry/host-metrics (its process.* groups), exported
// one of two ways (EXPORT):
//   prometheus: @opentelemetry/exporter-prometheus, scraped on 127.0.0.1:$PORT/metrics
//   otlp:       @opentelemetry/exporter-metrics-otlp-http, pushed every
//               $OTEL_METRIC_EXPORT_INTERVAL ms to $OTLP_METRICS_URL (cumulative)
// Resource: service.name=$OTEL_SERVICE_NAME, service.instance.id=<host>:<pid>. LEAK=1 leaks.
const os = require('node:os');
const { metrics } = require('@opentelemetry/api');
const { MeterProvider, PeriodicExportingMetricReader } = require('@opentelemetry/sdk-metrics');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { RuntimeNodeInstrumentation } = require('@opentelemetry/instrumentation-runtime-node');
const { HostMetrics } = require('@opentelemetry/host-metrics');
const workload = require('./workload');

const interval = Number(process.env.OTEL_METRIC_EXPORT_INTERVAL || '1000');
const exportKind = process.env.EXPORT || 'prometheus';
let reader;
if (exportKind === 'prometheus') {
  const { PrometheusExporter } = require('@opentelemetry/exporter-prometheus');
  reader = new PrometheusExporter({ host: '127.0.0.1', port: Number(process.env.PORT) });
} else if (exportKind === 'otlp') {
  const { OTLPMetricExporter } = require('@opentelemetry/exporter-metrics-otlp-http');
  reader = new PeriodicExportingMetricReader({
    exporter: new OTLPMetricExporter({ url: process.env.OTLP_METRICS_URL }),
    exportIntervalMillis: interval,
    exportTimeoutMillis: Math.min(interval, 30000),
  });
} else {
  throw new Error(`EXPORT=${exportKind}: prometheus or otlp`);
}

const meterProvider = new MeterProvider({
  resource: resourceFromAttributes({
    'service.name': process.env.OTEL_SERVICE_NAME,
    'service.instance.id': `${os.hostname()}:${process.pid}`,
  }),
  readers: [reader],
});
metrics.setGlobalMeterProvider(meterProvider);
const runtime = new RuntimeNodeInstrumentation({ monitoringPrecision: interval });
runtime.setMeterProvider(meterProvider);
runtime.enable();
// process.* only, as the Python app: the host-wide system.* groups are not about the service.
new HostMetrics({ meterProvider, name: 'host-metrics', metricGroups: ['process.cpu', 'process.memory'] })
  .start();
workload.start();
