"""The cases that prove each alert family: the synthetic series its rule must fire on (at a
time computed from the service's settings) and must stay silent on (at every evaluation).

Where a family's cases live (docs/families.md has each case, its shape and why it holds):

    memory_growth.py      memory-growth, and the count-leak families that share its cases:
                          goroutine-leak, thread-leak, handle-leak
    limit_ratio.py        limit-ratio
    limit_forecast.py     limit-forecast
    telemetry_missing.py  telemetry-missing
    no_limit.py           the silent cases both limit families share (a limit series that is
                          0 or -1, absent, or another pod's)

Each case is a named function of the family's module, computed from one frozen `Settings` of
the alert (`settings.py`: scrape interval S, gc_period G, window W, `for` F, threshold T,
horizon H, limit, the evaluation step); the module's `CASES` lists them in file order.
`registry.py` maps each family to its module; `builder.py` turns a case into a test group of
one service (labels, the other signals, the expectations); `groups.py` is what the test
template renders, and runs the expression-only cases of a family side by side (`batched`).

Conventions:
* Samples are integers (2.x and 3.x read them identically), one per scrape interval S from
  t=0. Times are computed from the window W, `for` F and gc period G, with a margin, so no
  assertion depends on a range boundary (3.x ranges are left-open).
* The primary leaking case of an alert uses a shape whose `$value` is exact on 2.x and 3.x
  (a clean integer ramp for slopes, a constant level for ratios) and asserts its labels and
  annotations with `alert_rule_test`. Other leaking cases assert `ALERTS{...firing}` (labels,
  value 1) at the computed time.
* A healthy case asserts `max_over_time(ALERTS{...firing}[whole series])` is empty at its end:
  no evaluation fired. Events start after W + G of steady history, so every window position
  around them is evaluated with a filled window, and the series runs W + G + F past them.
* Every other signal of the service (and its limit) is present and steady, so the other
  alerts (telemetry-missing above all) stay quiet, and cheap to evaluate.
"""

from rulegen.errors import UserError


class TestgenError(UserError):
    """The templates produced rules the test generator cannot write tests for."""

    __test__ = False
