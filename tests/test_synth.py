"""Tests for rulegen.synth: shapes, combinators, the promtool notation, and promtool itself."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rulegen.synth import (
    STALE,
    InputSeries,
    Sample,
    Series,
    add,
    clip_min,
    concat,
    constant,
    daily_curve,
    decode,
    encode,
    linear_leak,
    n_samples,
    noise,
    restart,
    sawtooth,
    scale,
    selector,
    stale_after,
    step_change,
    stepwise_leak,
    warmup,
    whole_amplitude,
    whole_rate,
    with_gaps,
)

MIB = 2**20
DAY = 86400


def tokens(text: str) -> list[str]:
    return text.split()


# ------------------------------------------------------------------------- round trip

_ints = st.integers(-(10**12), 10**12).map(float)


@st.composite
def _runs(draw: st.DrawFn, value: st.SearchStrategy[float]) -> Series:
    """A series made of arithmetic runs, gaps, stale markers and single values."""
    out: Series = []
    for kind in draw(st.lists(st.sampled_from("rgsv"), max_size=12)):
        if kind == "r":
            a, d = draw(value), draw(value)
            acc = a
            for _ in range(draw(st.integers(1, 20))):
                out.append(acc)
                acc += d
        elif kind == "g":
            out.extend([None] * draw(st.integers(1, 5)))
        elif kind == "s":
            out.append(STALE)
        else:
            out.append(draw(value))
    return out


_samples = st.lists(st.one_of(_ints, st.none(), st.just(STALE)), max_size=60)


@given(st.one_of(_samples, _runs(_ints)))
def test_round_trip_integers(values: Series) -> None:
    text = encode(values)
    assert decode(text) == values
    assert encode(decode(text)) == text  # canonical


_floats = st.floats(-1e15, 1e15, allow_nan=False, allow_infinity=False)


@given(st.one_of(st.lists(st.one_of(_floats, st.none(), st.just(STALE))), _runs(_floats)))
def test_round_trip_floats_exact(values: Series) -> None:
    """Float mode reproduces every value bit for bit, as promtool accumulates ``a += b``."""
    assert decode(encode(values, integers=False)) == values


@given(st.lists(st.one_of(_floats, st.none(), st.just(STALE))))
def test_integer_mode_rounds(values: Series) -> None:
    expected = [v if v is None or v is STALE else float(round(v)) for v in values]
    assert decode(encode(values)) == expected


def test_encode_examples() -> None:
    assert encode([]) == ""
    assert encode([1, None, None, None, 5]) == "1 _x3 5"
    assert encode([None]) == "_"
    assert encode([0, 0, 0, 0]) == "0x3"
    assert encode([0, 0]) == "0 0"
    assert encode([5, 3, 1, -1]) == "5-2x3"
    assert encode([-5, -7, -9]) == "-5-2x2"
    assert encode([STALE, STALE, 1]) == "stale stale 1"
    assert encode([1.4, 2.6]) == "1 3"
    assert encode([0.5, 0.75, 1.0, 1.25, 1.5e-7, 1e20], integers=False) == (
        "0.5+0.25x3 1.5e-07 1e+20"
    )
    # a pair does not become a run that would swallow the start of a longer one
    assert encode([5, 100, 105, 110]) == "5 100+5x2"


def test_encode_rejects_non_finite() -> None:
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="non-finite"):
            encode([1, bad])


def test_decode_grammar() -> None:
    assert decode("1 _x3 5") == [1, None, None, None, 5]  # _xn is n samples ...
    assert decode("7x3") == [7] * 4  # ... but axn is n+1
    assert decode("1+1x2 10-5x1") == [1, 2, 3, 10, 5]
    assert decode("1e3 1.5e9+1e6x2 +4 -2") == [1e3, 1.5e9, 1.501e9, 1.502e9, 4, -2]
    assert decode("_x0 3x0  stale _") == [3, STALE, None]
    for bad in ("1+2", "abc", "_x", "1x-2", "1++2x3", "stalex2", "1,2"):
        with pytest.raises(ValueError, match="not promtool series notation"):
            decode(bad)


# ------------------------------------------------------------------------ compactness


def test_linear_ramp_is_one_token() -> None:
    ramp = linear_leak(1000, step_s=60, n=1000)
    assert encode(ramp) == "0+60000x999"


@pytest.mark.parametrize(
    ("step_s", "period_s"), [(15, 60), (60, 600), (60, 3600), (60, 4 * 3600), (300, 8 * 3600)]
)
def test_sawtooth_is_about_two_tokens_per_period(step_s: int, period_s: int) -> None:
    k = period_s // step_s
    saw = sawtooth(100 * MIB, (k - 1) * 4096, period_s, step_s=step_s, n=10 * k + 3)
    assert len(tokens(encode(saw))) <= 2 * 11
    # an awkward amplitude, snapped to whole per-sample rises, compresses just as well
    amp = whole_amplitude(45 * MIB, period_s, step_s)
    assert abs(amp - 45 * MIB) <= (k - 1) / 2
    odd = sawtooth(100 * MIB, amp, period_s, phase_s=step_s * 3, step_s=step_s, n=10 * k)
    assert len(tokens(encode(odd))) <= 2 * 11


def test_whole_rate_compresses_leak() -> None:
    rate = MIB / 3600  # 1 MiB/h: 17476.27 B per 1m sample
    assert len(tokens(encode(linear_leak(rate, step_s=60, n=600)))) > 100  # rounding staircase
    snapped = whole_rate(rate, 60)
    assert snapped * 60 == 17476 and abs(snapped - rate) <= 0.5 / 60
    assert encode(linear_leak(snapped, step_s=60, n=600)) == "0+17476x599"


def test_two_day_sawtooth_plus_leak_size() -> None:
    """2 days at 1m: 10-minute GC sawtooth (45 MiB) plus a 3 kB/s leak: one token per cycle."""
    grid = {"step_s": 60, "duration_s": 2 * DAY}
    mem = add(sawtooth(100 * MIB, 45 * MIB, 600, **grid), linear_leak(3000, start_s=DAY, **grid))
    text = encode(mem)
    assert len(mem) == 2881
    assert len(tokens(text)) <= 2 * 288 + 2
    assert len(text) < 15_000
    assert decode(text) == [float(round(v)) for v in mem if isinstance(v, float)]


# ----------------------------------------------------------------------------- shapes


def test_n_samples() -> None:
    assert n_samples(60, duration_s=2 * DAY) == 2881
    assert n_samples(60, n=5) == 5
    assert len(constant(1, step_s=60, duration_s=0)) == 1
    for kwargs in ({}, {"n": 3, "duration_s": 60.0}, {"duration_s": 90.0}, {"n": -1}):
        with pytest.raises(ValueError):
            n_samples(60, **kwargs)
    with pytest.raises(ValueError):
        n_samples(0, n=3)


@pytest.mark.parametrize(
    ("step_s", "period_s"), [(15, 60), (60, 60 * 10), (60, 4 * 3600), (60, 6 * 3600)]
)
def test_sawtooth_troughs_and_peaks(step_s: int, period_s: int) -> None:
    base, amp = 200 * MIB, 64 * MIB
    k = period_s // step_s
    saw = sawtooth(base, amp, period_s, step_s=step_s, n=5 * k)
    assert [saw[i] for i in range(0, len(saw), k)] == [base] * 5  # troughs constant
    assert [saw[i] for i in range(k - 1, len(saw), k)] == [base + amp] * 5  # peaks
    assert min(v for v in saw if isinstance(v, float)) == base
    assert max(v for v in saw if isinstance(v, float)) == base + amp
    # linear rise inside a cycle
    rise = [saw[i + 1] - saw[i] for i in range(k - 1)]  # type: ignore[operator]
    assert max(rise) - min(rise) < 1e-6 * amp


def test_sawtooth_phase_shifts_left() -> None:
    a = sawtooth(0, 90, 600, step_s=60, n=40)
    b = sawtooth(0, 90, 600, phase_s=180, step_s=60, n=37)
    assert b == a[3:]
    with pytest.raises(ValueError):
        sawtooth(0, 1, 60, step_s=60, n=3)


def test_linear_leak_slope() -> None:
    leak = linear_leak(2.5, start_s=600, step_s=60, n=100)
    assert leak[:11] == [0.0] * 11
    diffs = {leak[i + 1] - leak[i] for i in range(10, 99)}  # type: ignore[operator]
    assert diffs == {150.0}  # 2.5/s * 60 s


def test_stepwise_leak() -> None:
    s = stepwise_leak(1 * MIB, 1800, start_s=600, step_s=60, n=200)
    jumps = [i for i in range(1, 200) if s[i] != s[i - 1]]
    assert jumps == [(600 + k * 1800) // 60 for k in range(1, 7)]
    assert {s[i] - s[i - 1] for i in jumps} == {MIB}  # type: ignore[operator]
    assert s[:40] == [0.0] * 40


def test_warmup_reaches_target() -> None:
    w = warmup(500 * MIB, 1200, start_s=300, from_level=50 * MIB, step_s=60, n=60)
    assert w[:6] == [50 * MIB] * 6  # until and at the start
    assert w[(300 + 1200) // 60] == 500 * MIB  # at ramp end
    assert w[25:] == [500 * MIB] * 35
    assert all(w[i] <= w[i + 1] for i in range(59))  # type: ignore[operator]
    assert warmup(7, 0, start_s=120, step_s=60, n=4) == [0, 0, 7, 7]


def test_restart_drops_and_warms_up() -> None:
    steady = constant(400, step_s=60, n=30)
    r = restart(steady, at_s=600, drop_to=100, ramp_s=300, step_s=60)
    assert r[:10] == [400] * 10
    assert r[10] == 100  # drop at the restart
    assert r[10:16] == [100, 160, 220, 280, 340, 400]
    assert r[15:] == [400] * 15
    # gaps and stale markers pass through
    assert restart([None, STALE, 5.0], 0, 1, 60, step_s=60) == [None, STALE, 5.0]
    with pytest.raises(ValueError):
        restart(steady, 0, 0, 0, step_s=60)


def test_daily_curve() -> None:
    c = daily_curve(1000, step_s=3600, n=49)
    assert c[0] == 0
    assert c[6] == pytest.approx(1000)  # peak a quarter period in
    assert c[18] == pytest.approx(-1000)
    assert c[:25] == pytest.approx(c[24:])


def test_step_change() -> None:
    assert step_change(5, 120, step_s=60, n=4) == [0, 0, 5, 5]


def test_noise_deterministic() -> None:
    before = random.getstate()
    a = noise(1000, seed=1, step_s=60, n=500)
    after = random.getstate()
    assert before == after  # the global generator is untouched
    assert a == noise(1000, seed=1, step_s=60, n=500)
    assert a != noise(1000, seed=2, step_s=60, n=500)
    assert all(isinstance(v, float) and v.is_integer() and -1000 <= v <= 1000 for v in a)


# ------------------------------------------------------------------------ combinators


def test_with_gaps_produce_blanks() -> None:
    s = with_gaps(constant(5, step_s=60, n=10), [(120, 300)], step_s=60)
    assert s[2:5] == [None] * 3
    assert encode(s) == "5 5 _x3 5x4"


def test_stale_appears_once() -> None:
    s = stale_after(constant(5, step_s=60, n=10), 270, step_s=60)
    assert s.count(STALE) == 1
    assert s[5] is STALE
    assert encode(s) == "5x4 stale _x4"
    assert stale_after([1.0], 600, step_s=60) == [1.0]


def test_add_concat_scale_clip() -> None:
    assert add([1.0, None, 3.0, STALE], [1.0, 2.0, STALE, None]) == [2.0, None, STALE, None]
    assert add([1.0], [2.0], [3.0]) == [6.0]
    with pytest.raises(ValueError, match="lengths differ"):
        add([1.0], [1.0, 2.0])
    assert concat([1.0], [None], [STALE]) == [1.0, None, STALE]
    assert scale([1.0, None, STALE], MIB) == [MIB, None, STALE]
    assert clip_min([-3.0, 2.0, None], 0) == [0, 2, None]


def test_composition_is_pure() -> None:
    base = constant(1, step_s=60, n=3)
    add(base, base)
    scale(base, 2)
    with_gaps(base, [(0, 60)], step_s=60)
    assert base == [1, 1, 1]


# ----------------------------------------------------------------------------- labels


def test_selector_sorted_and_escaped() -> None:
    labels = {"pod": 'p"1', "container": "back\\slash", "namespace": "a\nb"}
    assert selector("container_spec_memory_limit_bytes", labels) == (
        'container_spec_memory_limit_bytes{container="back\\\\slash", namespace="a\\nb", '
        'pod="p\\"1"}'
    )
    assert selector("go_goroutines") == "go_goroutines"
    for metric, bad in (("1bad", {}), ("m", {"bad-name": "x"}), ("m", {"__name__": "x"})):
        with pytest.raises(ValueError, match="invalid"):
            selector(metric, bad)


def test_input_series() -> None:
    s = InputSeries.of("mem", {"job": "api"}, [1, 2, 3])
    assert s == InputSeries('mem{job="api"}', "1+1x2")
    assert s.as_dict() == {"series": 'mem{job="api"}', "values": "1+1x2"}
    assert InputSeries.of("mem", None, "1 2").values == "1 2"
    assert InputSeries.of("m", {}, [0.5, 1.0, 1.5], integers=False).values == "0.5+0.5x2"


# ---------------------------------------------------------------------------- promtool


def _promtool() -> str | None:
    env = os.environ.get("PROMTOOL")
    if env:
        return env if Path(env).is_file() else shutil.which(env)
    local = Path(__file__).parents[1] / ".tools/bin/promtool"
    return str(local) if local.is_file() else None


_NO_PROMTOOL = (
    f"promtool not found (PROMTOOL={os.environ.get('PROMTOOL')!r}, then "
    f"{Path(__file__).parents[1] / '.tools/bin/promtool'}): run scripts/get-promtool.sh"
)


def _q(s: str) -> str:
    return json.dumps(s)  # a JSON string is a valid YAML double-quoted scalar


def _value_at(values: Series, i: int) -> float | None:
    """What ``last_over_time(m[<step])`` sees at sample i: the value, or nothing."""
    v = values[i] if i < len(values) else None
    return None if v is None or v is STALE else v


def _rule_test(step_s: int, inputs: list[tuple[InputSeries, Series]], extra: list[str]) -> str:
    lines = [
        "rule_files: []",
        "evaluation_interval: 1m",
        "tests:",
        "  - name: synth-notation",
        f"    interval: {step_s}s",
        "    input_series:",
    ]
    for s, _ in inputs:
        lines += [f"      - series: {_q(s.series)}", f"        values: {_q(s.values)}"]
    lines.append("    promql_expr_test:")
    for s, decoded in inputs:
        name = s.series.split("{")[0]
        for i in range(len(decoded) + 2):
            v = _value_at(decoded, i)
            exp = "[]" if v is None else f"[{{labels: {_q(s.series)}, value: {v!r}}}]"
            lines += [
                f"      - expr: last_over_time({name}[{step_s - 1}s])",
                f"        eval_time: {i * step_s}s",
                f"        exp_samples: {exp}",
            ]
    return "\n".join(lines + extra) + "\n"


def _expect(expr: str, at_s: int, series: str | None, value: float | None) -> list[str]:
    exp = "[]" if series is None else f"[{{labels: {_q(series)}, value: {value!r}}}]"
    return [
        f"      - expr: {_q(expr)}",
        f"        eval_time: {at_s}s",
        f"        exp_samples: {exp}",
    ]


@pytest.mark.promtool
@pytest.mark.parametrize("step_s", [60, 15])
def test_promtool_reads_encoding_exactly(tmp_path: Path, step_s: int) -> None:
    promtool = _promtool()
    if promtool is None:
        pytest.skip(_NO_PROMTOOL)
    grid = {"step_s": step_s}
    mem = concat(
        add(constant(100, **grid, n=6), linear_leak(30 / step_s, **grid, n=6)),  # 100+30x5
        [None] * 3,  # _x3
        constant(7, **grid, n=4),  # 7x3
        add(constant(1000, **grid, n=4), linear_leak(-120 / step_s, **grid, n=4)),  # 1000-120x3
        [STALE],
        [42.0],  # trailing value
    )
    text = encode(mem)
    assert text == "100+30x5 _x3 7x3 1000-120x3 stale 42"
    labels = {"pod": 'p"o\\d', "container": "c\nx", "namespace": "ns"}
    limit: list[Sample] = [0.5, 0.75, 1.0, 1.25, 1.5e-7]
    inputs = [
        (InputSeries.of("mem", {"job": "api"}, mem), decode(text)),
        (InputSeries.of("container_spec_memory_limit_bytes", labels, limit, integers=False), limit),
    ]
    assert inputs[1][0].values == "0.5+0.25x3 1.5e-07"
    mem_sel = inputs[0][0].series
    # `_` leaves the previous sample visible through the 5m lookback; `stale` ends the series.
    extra = (
        _expect("mem", 7 * step_s, mem_sel, 250.0)
        + _expect("mem", 17 * step_s, None, None)
        + _expect("mem", 19 * step_s, mem_sel, 42.0)
        # the escaped label values decode to single characters: `"`, `\` and a newline
        + _expect(
            'count(container_spec_memory_limit_bytes{pod=~"p.o.d", container=~"c\\\\sx"})',
            0,
            "{}",
            1.0,
        )
    )
    test_file = tmp_path / "synth_test.yml"
    test_file.write_text(_rule_test(step_s, inputs, extra))
    run = subprocess.run(
        [promtool, "test", "rules", str(test_file)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr

    # Control: the same file with one wrong expectation must fail, so the check is not vacuous.
    wrong = test_file.read_text().replace("value: 130.0", "value: 131.0", 1)
    assert wrong != test_file.read_text()
    test_file.write_text(wrong)
    run = subprocess.run(
        [promtool, "test", "rules", str(test_file)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "1.31E+02" in run.stderr and "1.3E+02" in run.stderr
