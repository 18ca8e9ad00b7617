// A Go service instrumented with client_golang's default registry (Go and process collectors),
// for rulegen's emitter tests. LEAK=1 retains LEAK_BYTES_PER_SEC (default 100 kB/s) for good;
// both twins also churn CHURN_BYTES_PER_SEC (default 5 MB/s) of garbage so the GC runs every
// few seconds. Serves /metrics on LISTEN (default 127.0.0.1:0, the address is printed).
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
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

// work allocates every 100 ms: churn/10 bytes of garbage in 10 kB pieces, and with leak
// leak/10 bytes that stay reachable forever.
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

func main() {
	leak := os.Getenv("LEAK") == "1"
	go work(leak, envInt("LEAK_BYTES_PER_SEC", 100_000), envInt("CHURN_BYTES_PER_SEC", 5_000_000))
	addr := os.Getenv("LISTEN")
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("listening %s\n", ln.Addr())
	http.Handle("/metrics", promhttp.Handler())
	fmt.Fprintln(os.Stderr, http.Serve(ln, nil))
	os.Exit(1)
}
