// A JVM service without instrumentation of its own, run under the OpenTelemetry Java agent
// (-javaagent, OTLP export configured by OTEL_* variables), for rulegen's emitter tests.
// LEAK=1 retains LEAK_BYTES_PER_SEC (default 100 kB/s) for good; both twins churn
// CHURN_BYTES_PER_SEC (default 4 MB/s) of short-lived garbage so young collections run every
// few seconds and the retained bytes are promoted to the old generation.
import java.util.ArrayList;
import java.util.List;

public final class App {
    static final List<byte[]> retained = new ArrayList<>();
    static volatile byte[] sink;

    static int env(String name, int def) {
        String v = System.getenv(name);
        return v == null || v.isEmpty() ? def : Integer.parseInt(v);
    }

    public static void main(String[] args) throws InterruptedException {
        boolean leak = "1".equals(System.getenv("LEAK"));
        int leakRate = env("LEAK_BYTES_PER_SEC", 100_000);
        int churnRate = env("CHURN_BYTES_PER_SEC", 4_000_000);
        System.out.println("started leak=" + leak);
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
