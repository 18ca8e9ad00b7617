// A JVM service without instrumentation of its own, run under the OpenTelemetry Java agent
// (-javaagent, export configured by OTEL_* variables), for rulegen's emitter tests.
// LEAK=1 retains LEAK_BYTES_PER_SEC (default 100 kB/s) for good. Both twins churn
// CHURN_BYTES_PER_SEC (default 16 MB/s) of short-lived garbage (a young collection every few
// seconds) and keep a cache of CACHE_BYTES_PER_SEC (default 3 MB/s) entries that expire after
// CACHE_SECONDS (default 10): they outlive the young collections, are promoted and die in the
// old generation, so G1 runs a concurrent cycle and mixed collections every ~10-20 s with -Xmx128m.
// That matters: on G1 (JDK 17) the old generation's after-GC usage, which the heap signals
// (jvm.memory.used_after_last_gc, jvm_memory_pool_collection_used_bytes) report, changes only
// at mixed and full collections, never at young ones; without old-generation garbage a leak
// would stay invisible there for as long as the heap stays below the occupancy threshold.
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

public final class App {
    static final List<byte[]> retained = new ArrayList<>();
    static final ArrayDeque<byte[]> cache = new ArrayDeque<>();
    static volatile byte[] sink;

    static int env(String name, int def) {
        String v = System.getenv(name);
        return v == null || v.isEmpty() ? def : Integer.parseInt(v);
    }

    public static void main(String[] args) throws InterruptedException {
        boolean leak = "1".equals(System.getenv("LEAK"));
        int leakRate = env("LEAK_BYTES_PER_SEC", 100_000);
        int churnRate = env("CHURN_BYTES_PER_SEC", 16_000_000);
        int cacheRate = env("CACHE_BYTES_PER_SEC", 3_000_000);
        int cacheTicks = env("CACHE_SECONDS", 10) * 10;
        System.out.println("started leak=" + leak);
        System.out.flush();
        while (true) {
            Thread.sleep(100);
            for (int i = 0; i < churnRate / 10 / 10240; i++) {
                sink = new byte[10240];
            }
            if (cacheRate > 0) {
                cache.addLast(new byte[cacheRate / 10]);
                while (cache.size() > cacheTicks) {
                    cache.removeFirst();
                }
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
