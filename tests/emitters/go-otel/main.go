// A Go service instrumented with OpenTelemetry's contrib runtime instrumentation, for rulegen's
// emitter tests. EXPORT=otlp pushes through otlpmetrichttp (OTEL_EXPORTER_OTLP_METRICS_ENDPOINT,
// OTEL_METRIC_EXPORT_INTERVAL, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES as the SDK reads
// them); EXPORT=prometheus serves /metrics through the OTel Prometheus exporter (on its own
// registry: no client_golang collectors mixed in). OTEL_GO_X_DEPRECATED_RUNTIME_METRICS=true
// adds the deprecated process.runtime.go.* metrics. LEAK=1 retains LEAK_BYTES_PER_SEC (default
// 100 kB/s) for good; both twins churn CHURN_BYTES_PER_SEC (default 5 MB/s) of garbage.
// LISTEN (default 127.0.0.1:0) is printed as "listening <addr>".
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/contrib/instrumentation/runtime"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
)

var (
	retained [][]byte
	sink     []byte
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func work(leak bool, leakRate, churnRate int) {
	for range time.Tick(100 * time.Millisecond) {
		for i := 0; i < churnRate/10/10240; i++ {
			sink = make([]byte, 10240)
			sink[0] = 1
		}
		if leak {
			b := make([]byte, leakRate/10)
			for i := range b {
				b[i] = byte(i)
			}
			retained = append(retained, b)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

func main() {
	ctx := context.Background()
	res, err := resource.New(ctx, resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil {
		fail(err)
	}
	addr := os.Getenv("LISTEN")
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fail(err)
	}
	mux := http.NewServeMux()
	var reader sdkmetric.Reader
	switch os.Getenv("EXPORT") {
	case "otlp":
		exp, err := otlpmetrichttp.New(ctx)
		if err != nil {
			fail(err)
		}
		reader = sdkmetric.NewPeriodicReader(exp)
	case "prometheus":
		reg := prometheus.NewRegistry()
		exp, err := otelprom.New(otelprom.WithRegisterer(reg))
		if err != nil {
			fail(err)
		}
		reader = exp
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	default:
		fail(fmt.Errorf("EXPORT must be otlp or prometheus"))
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res), sdkmetric.WithReader(reader))
	if err := runtime.Start(runtime.WithMeterProvider(mp),
		runtime.WithMinimumReadMemStatsInterval(time.Second)); err != nil {
		fail(err)
	}
	go work(os.Getenv("LEAK") == "1", envInt("LEAK_BYTES_PER_SEC", 100_000),
		envInt("CHURN_BYTES_PER_SEC", 5_000_000))
	fmt.Printf("listening %s\n", ln.Addr())
	fail(http.Serve(ln, mux))
}
