// A JVM service instrumented with the Prometheus Java client 1.x (client_java): the JVM and
// process metrics of prometheus-metrics-instrumentation-jvm on prometheus-metrics-exporter-
// httpserver, for rulegen's emitter tests. Serves /metrics on 127.0.0.1:$PORT (default: any
// free port) and prints "listening 127.0.0.1:<port>". LEAK=1 retains LEAK_BYTES_PER_SEC
// (default 100 kB/s) for good; both twins churn CHURN_BYTES_PER_SEC (default 4 MB/s) of
// short-lived garbage so young collections run every few seconds.
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import java.util.ArrayList;
import java.util.List;

public final class App {
    static final List<byte[]> retained = new ArrayList<>();
    static volatile byte[] sink;

    static int env(String name, int def) {
        String v = System.getenv(name);
        return v == null || v.isEmpty() ? def : Integer.parseInt(v);
    }

    public static void main(String[] args) throws Exception {
        boolean leak = "1".equals(System.getenv("LEAK"));
        int leakRate = env("LEAK_BYTES_PER_SEC", 100_000);
        int churnRate = env("CHURN_BYTES_PER_SEC", 4_000_000);
        JvmMetrics.builder().register();
        HTTPServer server = HTTPServer.builder().hostname("127.0.0.1").port(env("PORT", 0)).buildAndStart();
        System.out.println("listening 127.0.0.1:" + server.getPort());
        System.out.flush();
        while (true) {
            Thread.sleep(100);
            for (int i = 0; i < churnRate / 10 / 10240; i++) {
                sink = new byte[10240];
            }
            if (leak) {
                byte[] b = new byte[leakRate / 10];
                for (int i = 0; i < b.length; i++) {
                    b[i] = (byte) i;
                }
                retained.add(b);
            }
        }
    }
}
