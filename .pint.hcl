# pint (github.com/cloudflare/pint) configuration for the rules rulegen generates into
# rules_out/. Used by tests/test_pint.py and by `pint lint` run from this directory; see
# docs/pint.md.
#
# No `prometheus` block, on purpose: pint then has no server to query, so none of its online
# checks (promql/series, promql/rate, promql/counter, promql/vector_matching, rule/duplicate,
# promql/range_query, labels/conflict, alerts/absent, alerts/external_labels: each is set up
# per server) can run, with or without --offline. What runs is what pint enables by default
# without a server: yaml/parse on the files, then promql/syntax, alerts/for, alerts/comparison,
# alerts/template, promql/fragile, promql/regexp, promql/impossible and rule/dependency.
#
# No check is disabled here. A finding that does not apply to a generated rule is disabled in
# the generated file itself (a `# pint disable <check>` comment with its reason, from
# templates/), so that it stays disabled under whatever pint configuration a user runs.

parser {
  # rules_out/rules/ are plain Prometheus rule files and are parsed strictly, as Prometheus
  # loads them. The operator target writes PrometheusRule objects (the rules sit under
  # spec.groups) and the mimir target adds a top-level `namespace:` key: neither is a
  # Prometheus rule file, so pint is told to find the rules inside them (relaxed mode).
  relaxed = ["(.*/)?rules_out/(operator|mimir)/.+"]
}
