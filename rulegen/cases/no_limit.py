"""The silent cases both limit families (limit-ratio, limit-forecast) share: memory far above
any limit, but the limit series reads 0 or -1 (no limit set), is absent, or belongs to another
pod or container. Only for limits that can be missing (a metric or the runtime's own)."""

from __future__ import annotations

from collections.abc import Callable

from rulegen.cases.settings import Settings
from rulegen.cases.shape import Shape, frozen
from rulegen.synth import Sample


def healthy_limit_zero(s: Settings, d: int, app: list[Sample]) -> Shape | None:
    return Shape("healthy-limit-zero", f"memory far above any limit, but the limit series is "
                 f"{s.zero:g} (unlimited)", frozen(app), d, False, limit="zero")


def healthy_limit_absent(s: Settings, d: int, app: list[Sample]) -> Shape | None:
    return Shape("healthy-limit-absent", "memory far above any limit, but there is no limit "
                 "series (no limit set)", frozen(app), d, False, limit="absent")


def healthy_other_pod(s: Settings, d: int, app: list[Sample]) -> Shape | None:
    if not s.other_pods:
        return None
    return Shape("healthy-other-pod", "memory far above the limit of another pod/container, the "
                 "only limit series", frozen(app), d, False, limit="other")


CASES: tuple[Callable[[Settings, int, list[Sample]], Shape | None], ...] = (
    healthy_limit_zero, healthy_limit_absent, healthy_other_pod,
)


def shapes(s: Settings, d: int, app: list[Sample]) -> list[Shape]:
    """The cases for memory `app` (far above the limit), silent until `d`. For a limit that can
    be missing (`Settings.unlimited`: not a static size)."""
    return [sh for case in CASES if (sh := case(s, d, app)) is not None]
