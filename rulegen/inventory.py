"""The inventory's schema: what a hand-edited inventory may say, and its JSON Schema.

Types and unknown keys are checked here (pydantic); rules that need the catalog or relate two
fields live in `validate.py`, so every message can point at the line that causes it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)

from rulegen import units
from rulegen.regex import check_regex

# Prometheus reserves label names that start with __ (__name__, __address__) for itself.
LABEL_NAME = r"^([a-zA-Z][a-zA-Z0-9_]*|_([a-zA-Z0-9][a-zA-Z0-9_]*)?)$"
SERVICE_NAME = r"^[a-zA-Z0-9]([a-zA-Z0-9_.-]*[a-zA-Z0-9])?$"
METRIC_NAME = r"^[a-zA-Z_:][a-zA-Z0-9_:]*$"
LINK_NAME = r"^[a-z][a-z0-9_]*$"
SEVERITY = r"^[a-z][a-z0-9_-]*$"
# A limit preset (kube-state-metrics) or a metric name: nothing else reaches the PromQL.
LIMIT_METRIC = r"^([a-z][a-z0-9-]*|[a-zA-Z_:][a-zA-Z0-9_:]*)$"
# Runtime and convention names are looked up in the catalog; this only refuses what would make
# "unknown runtime 'gο'" unreadable (a Greek omicron, a zero-width space).
CATALOG_NAME = r"^[!-~]+$"
MAX_SERVICE_NAME = 128  # file names <service>.yml and rulegen-<service> stay far below 255 bytes

Size = Annotated[int, BeforeValidator(units.parse_size), WithJsonSchema({
    "anyOf": [{"type": "string", "pattern": units.SIZE_PATTERN}, {"type": "integer", "minimum": 0}],
    "description": "bytes, or a size such as 512Mi, 1Gi, 300M"})]
Duration = Annotated[int, BeforeValidator(units.parse_duration), WithJsonSchema({
    "type": "string", "pattern": units.DURATION_PATTERN, "description": "e.g. 30s, 5m, 2h, 1d"})]
Rate = Annotated[float, BeforeValidator(units.parse_rate), WithJsonSchema({
    "type": "string", "pattern": units.RATE_PATTERN, "description": "e.g. 10MiB/h, 50/h"})]
CountRate = Annotated[float, BeforeValidator(units.parse_count_rate), WithJsonSchema({
    "type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?\s*/\s*(s|sec|m|min|h|d)$",
    "description": "things counted per time, e.g. 100/h"})]
Fraction = Annotated[float, Field(allow_inf_nan=False)]
Regex = Annotated[str, AfterValidator(check_regex)]
LabelName = Annotated[str, Field(pattern=LABEL_NAME)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)


class KeyProblem(ValueError):
    """A model validator's problem that belongs to one of the model's keys: messages point at
    that key, not at the start of the mapping."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


class MatcherOp(Strict):
    """A non-equality matcher: exactly one of the keys."""

    regex: Regex | None = None
    not_: str | None = Field(None, alias="not")
    not_regex: Regex | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> MatcherOp:
        given = [k for k in ("regex", "not", "not_regex")
                 if getattr(self, "not_" if k == "not" else k) is not None]
        if len(given) != 1:
            raise ValueError("a matcher takes exactly one of regex, not, not_regex"
                             + (f"; this one has {' and '.join(given)}" if given else ""))
        return self


Matcher = str | MatcherOp
Matchers = dict[LabelName, Matcher]


class AlertSettings(Strict):
    disabled: bool | None = None
    severity: Annotated[str, Field(pattern=SEVERITY)] | None = None
    for_: Duration | None = Field(None, alias="for")
    window: Duration | None = Field(None, description="range the alert looks back over")


class GrowthSettings(AlertSettings):
    threshold: Rate | None = Field(None, description="growth per hour that counts as a leak")


class CountGrowthSettings(AlertSettings):
    threshold: CountRate | None = Field(
        None, description="growth of a count per hour that counts as a leak")


class RatioSettings(AlertSettings):
    threshold: Fraction | None = Field(None, description="fraction of the limit, e.g. 0.8")


class ForecastSettings(AlertSettings):
    horizon: Duration | None = Field(
        None, description="how far ahead to forecast hitting the limit")


class Alerts(Strict):
    """Per-family settings, keyed by family ID."""

    memory_growth: GrowthSettings | None = Field(None, alias="memory-growth")
    limit_ratio: RatioSettings | None = Field(None, alias="limit-ratio")
    limit_forecast: ForecastSettings | None = Field(None, alias="limit-forecast")
    goroutine_leak: CountGrowthSettings | None = Field(None, alias="goroutine-leak")
    thread_leak: CountGrowthSettings | None = Field(None, alias="thread-leak")
    handle_leak: CountGrowthSettings | None = Field(None, alias="handle-leak")
    telemetry_missing: AlertSettings | None = Field(None, alias="telemetry-missing")


class SignalOverride(Strict):
    metric: Annotated[str, Field(pattern=METRIC_NAME)] | None = None
    matchers: Matchers | None = None
    sum_without: list[LabelName] | None = None


SignalName = Literal[
    "heap", "resident", "runtime_used", "runtime_limit", "goroutines", "threads", "handles",
    "major_gcs"]


class MemoryLimit(Strict):
    source: Literal["static", "metric", "runtime", "none"]
    size: Size | None = Field(None, description="source: static")
    metric: Annotated[str, Field(pattern=LIMIT_METRIC)] | None = Field(None, description=(
        "source: metric - a preset (cadvisor, kube-state-metrics, otel-k8s, docker-stats) "
        "or a metric name"))
    matchers: Matchers | None = Field(None, description="extra matchers on the limit series")
    join: dict[LabelName, LabelName] | None = Field(None, description=(
        "application label -> limit label, for series whose label names differ"))

    @model_validator(mode="after")
    def _keys_of_its_source(self) -> MemoryLimit:
        """A key another source reads would be ignored without a word: refuse it."""
        for key in ("size", "metric", "matchers", "join"):
            needs = "static" if key == "size" else "metric"
            if getattr(self, key) is not None and self.source != needs:
                raise KeyProblem(key, f"{key} is only read with source: {needs}, and this "
                                f"memory_limit has source: {self.source}; remove {key}: or set "
                                f"source: {needs}")
        return self


Links = dict[Annotated[str, Field(pattern=LINK_NAME)], str]


class Defaults(Strict):
    convention: Annotated[str, Field(pattern=CATALOG_NAME)] | None = None
    owner: str | None = None
    selector_label: LabelName | None = None
    scrape_interval: Duration | None = None
    evaluation_interval: Duration | None = None
    gc_period: Duration | None = None
    labels: dict[LabelName, str] | None = None
    links: Links | None = None
    memory_limit: MemoryLimit | None = None
    alerts: Alerts | None = None


class Service(Strict):
    name: Annotated[str, Field(pattern=SERVICE_NAME, max_length=MAX_SERVICE_NAME)]
    runtime: Annotated[str, Field(pattern=CATALOG_NAME)]
    convention: Annotated[str, Field(pattern=CATALOG_NAME)] | None = None
    owner: str | None = None
    description: str | None = None
    selector: Matchers | None = Field(None, description="labels that identify the service's series")
    scrape_interval: Duration | None = None
    evaluation_interval: Duration | None = Field(
        None, description="how often Prometheus evaluates the service's rule group")
    gc_period: Duration | None = Field(None, description="longest GC cycle the service shows")
    memory_limit: MemoryLimit | None = None
    labels: dict[LabelName, str] | None = Field(None, description="extra routing labels")
    links: Links | None = Field(None, description="runbook, dashboard, traces, ... URLs")
    metrics: dict[SignalName, SignalOverride] | None = None
    alerts: Alerts | None = None


# Kubernetes object metadata (apimachinery validation): a namespace is a DNS-1123 label; a label
# key an optional DNS-1123 subdomain prefix and `/` before a name of at most 63 characters; a
# label value at most 63 characters, alphanumeric at both ends.
K8S_NAMESPACE = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
K8S_LABEL_KEY = (r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*/)?"
                 r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
K8S_LABEL_VALUE = r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$"

Target = Literal["prometheus", "operator", "mimir"]


class OperatorSettings(Strict):
    """metadata of the PrometheusRule objects of the `operator` target."""

    namespace: Annotated[str, Field(pattern=K8S_NAMESPACE)] | None = Field(None, description=(
        "metadata.namespace of every PrometheusRule; omitted: the namespace they are applied to"))
    labels: dict[Annotated[str, Field(pattern=K8S_LABEL_KEY, max_length=317)],
                 Annotated[str, Field(pattern=K8S_LABEL_VALUE)]] | None = Field(
        None, description=("metadata.labels of every PrometheusRule, e.g. {release: "
                           "kube-prometheus-stack}: what the Prometheus ruleSelector matches"))


class MimirSettings(Strict):
    """Ruler namespaces of the `mimir` target."""

    namespace: Annotated[str, Field(min_length=1)] | None = Field(None, description=(
        "put every group in this one ruler namespace; omitted: one namespace per owner"))


class OutputSettings(Strict):
    tests: bool = Field(True, description=(
        "write the promtool tests of the rules, one file per proof class (tests/)"))
    targets: list[Target] = Field(["prometheus"], description=(
        "what to write besides the tests: prometheus = rules/<runtime>/<service>.yml (Prometheus, "
        "Thanos Ruler; always written, the tests use them), operator = a PrometheusRule per "
        "service (operator/<runtime>/<service>.yaml), mimir = Mimir/Cortex ruler namespace files "
        "for mimirtool rules load (mimir/<namespace>.yml); `rulegen generate --target` overrides"))
    layout: Literal["service", "classes"] = Field("service", description=(
        "service = a rule file per service (rules/<runtime>/<service>.yml); classes = one rule "
        "file per class of services whose rules differ only in their names "
        "(rules/classes/<class>.yml, docs/classes.md): each rule is evaluated once for the "
        "class, not once per service"))
    operator: OperatorSettings | None = Field(None, description="settings of the operator target")
    mimir: MimirSettings | None = Field(None, description="settings of the mimir target")


class Inventory(Strict):
    version: Literal[1] = 1
    output: OutputSettings | None = None
    defaults: Defaults | None = None
    services: list[Service]


def json_schema() -> dict[str, Any]:
    schema = Inventory.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "rulegen inventory"
    return schema
