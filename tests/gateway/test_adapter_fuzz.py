"""Property: every adapter in gateway.adapters.registry.ADAPTERS normalizes or rejects any payload, nothing else.

Each adapter is fed random bytes, its valid sample payloads with JSON entries deleted, replaced or retyped, and
its samples with bytes flipped or cut off (tests/gateway/payload_fuzz.py). A rejection must be a ValidationError
with one of the adapter's reasons; what it accepts must pass the adapter's sanity checks. An adapter added to
ADAPTERS without a `FuzzTarget` here fails `test_every_registered_adapter_is_fuzzed`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.adapters.base import Adapter, MessageContext, Normalized
from gateway.adapters.canonical import as_domain
from gateway.adapters.registry import ADAPTERS
from roadlink.domain.perception import PerceptionFrame
from roadlink.domain.signal import SignalPhaseAndTiming
from roadlink.domain.vehicle import VehicleState
from tests.codec.test_csae_golden import payloads as csae_payloads
from tests.gateway import test_bsm_json as bsm_tests
from tests.gateway import test_camera_ground as camera_tests
from tests.gateway import test_lidar_sensor_frame as lidar_tests
from tests.gateway import test_radar_wgs84 as radar_tests
from tests.gateway import test_signal_controller as signal_tests
from tests.gateway import test_uper_frames as uper_tests
from tests.gateway.payload_fuzz import JSON_VALUES, assert_normalizes_or_rejects, corrupted_bytes, mutated_json

T = TypeVar("T")
REASONS = frozenset({"not_json", "wrong_shape", "out_of_range", "too_large"})
EXAMPLES = 150
FUZZ_SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _no_check(output: Sequence[Normalized], context: MessageContext) -> None:
    """No sanity checks beyond the adapter contract."""


@dataclass(frozen=True)
class FuzzTarget:
    """How to fuzz one registered adapter."""

    samples: Sequence[bytes]
    """Valid payloads that the mutations start from."""
    context: MessageContext
    options: Mapping[str, object] = field(default_factory=dict)
    """The route options the adapter's factory is built with."""
    reasons: frozenset[str] = REASONS
    """The ValidationError reasons the adapter may reject with."""
    values: st.SearchStrategy[Any] = JSON_VALUES
    """Replacement values for mutated entries."""
    check: Callable[[Sequence[Normalized], MessageContext], None] = _no_check
    """Sanity checks on what the adapter accepts."""
    json: bool = True
    """The samples are JSON documents, so JSON-aware mutations apply (binary formats get byte corruption)."""


def _only(output: Sequence[Normalized], kind: type[T]) -> T:
    assert len(output) == 1
    item = as_domain(output[0])
    assert isinstance(item, kind)
    return item


def _check_radar(output: Sequence[Normalized], context: MessageContext) -> None:
    for obj in _only(output, PerceptionFrame).objects:
        assert math.isfinite(obj.position.latitude_deg)
        assert obj.speed_mps is not None
        assert obj.speed_mps >= 0.0
        assert obj.heading_deg is not None
        assert 0.0 <= obj.heading_deg < 360.0


def _check_lidar(output: Sequence[Normalized], context: MessageContext) -> None:
    for obj in _only(output, PerceptionFrame).objects:
        assert math.isfinite(obj.position.latitude_deg)
        assert obj.heading_deg is not None
        assert 0.0 <= obj.heading_deg < 360.0


def _check_camera(output: Sequence[Normalized], context: MessageContext) -> None:
    for obj in _only(output, PerceptionFrame).objects:
        cov = obj.position_covariance
        assert cov is not None
        assert cov.east_east >= 0.0
        assert cov.north_north >= 0.0
        assert obj.class_confidence is None or 0.0 <= obj.class_confidence <= 1.0


def _check_signal(output: Sequence[Normalized], context: MessageContext) -> None:
    spat = _only(output, SignalPhaseAndTiming)
    for movement in spat.movements:
        for event in movement.events:
            end = event.likely_end_time_unix_ms
            assert end is None or abs(end - spat.time_unix_ms) <= signal_tests.HOUR_MS


def _check_bsm(output: Sequence[Normalized], context: MessageContext) -> None:
    state = _only(output, VehicleState)
    assert len(state.temporary_id) == 4
    assert -90.0 <= state.position.latitude_deg <= 90.0
    assert state.heading_deg is None or 0.0 <= state.heading_deg < 360.0
    assert abs(state.time_unix_ms - context.receive_time_unix_ms) <= 30_000


FUZZ_TARGETS: Mapping[str, FuzzTarget] = {
    "radar_wgs84": FuzzTarget(
        [message.payload for message in radar_tests.RECORDING],
        radar_tests.CONTEXT,
        reasons=REASONS | {"count_mismatch"},
        check=_check_radar,
    ),
    "lidar_sensor_frame": FuzzTarget(
        [lidar_tests.SAMPLE], lidar_tests.CONTEXT, options=lidar_tests.POSE, check=_check_lidar
    ),
    "camera_ground": FuzzTarget([camera_tests.SAMPLE], camera_tests.CONTEXT, check=_check_camera),
    "signal_controller": FuzzTarget(
        [signal_tests.CSAE_SAMPLE, signal_tests.J2735_SAMPLE],
        signal_tests.CONTEXT,
        values=JSON_VALUES | st.integers(-1, 36_200),  # around the countdown and TimeMark limits
        check=_check_signal,
    ),
    "bsm_json": FuzzTarget(
        [bsm_tests.SAMPLE],
        bsm_tests.CONTEXT,
        reasons=REASONS | {"position_unavailable"},
        values=JSON_VALUES | st.integers(-5_000, 2_000_000_000),  # around the J2735 integer ranges
        check=_check_bsm,
    ),
    "uper_frames": FuzzTarget(
        [payload for name, payload in csae_payloads().items() if name in ("BSM", "RSM", "SPAT")],  # forwarded kinds
        uper_tests.CONTEXT,
        options=uper_tests.OPTIONS,
        reasons=uper_tests.REASONS,
        json=False,
    ),
}


@functools.cache
def _adapter(name: str) -> Adapter:
    return ADAPTERS[name](FUZZ_TARGETS[name].options)


def _target_of(name: str) -> FuzzTarget:
    """The FuzzTarget of `name`, or a JSON one without samples (test_every_registered_adapter_is_fuzzed fails)."""
    return FUZZ_TARGETS.get(name) or FuzzTarget([], radar_tests.CONTEXT)


def _target(name: str) -> FuzzTarget:
    target = FUZZ_TARGETS.get(name)
    if target is None:
        pytest.fail(f"adapter {name!r} is in ADAPTERS but has no FuzzTarget in {__name__}", pytrace=False)
    return target


def _normalizes_or_rejects(name: str, payload: bytes) -> None:
    target = _target(name)
    output = assert_normalizes_or_rejects(_adapter(name), payload, target.context, target.reasons)
    if output is not None:
        target.check(output, target.context)


def test_every_registered_adapter_is_fuzzed() -> None:
    assert sorted(FUZZ_TARGETS) == sorted(ADAPTERS)


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_samples_are_accepted(name: str) -> None:
    target = _target(name)
    assert target.samples
    for sample in target.samples:
        output = _adapter(name)(sample, target.context)
        target.check(output, target.context)


@pytest.mark.parametrize("name", sorted(ADAPTERS))
@FUZZ_SETTINGS
@given(payload=st.binary(max_size=256))
def test_random_bytes_never_escape(name: str, payload: bytes) -> None:
    _normalizes_or_rejects(name, payload)


@pytest.mark.parametrize("name", [name for name in sorted(ADAPTERS) if _target_of(name).json])
@FUZZ_SETTINGS
@given(data=st.data())
def test_mutated_samples_never_escape(name: str, data: st.DataObject) -> None:
    _normalizes_or_rejects(name, data.draw(mutated_json(_target(name).samples, _target(name).values), "payload"))


@pytest.mark.parametrize("name", sorted(ADAPTERS))
@FUZZ_SETTINGS
@given(data=st.data())
def test_corrupted_samples_never_escape(name: str, data: st.DataObject) -> None:
    _normalizes_or_rejects(name, data.draw(corrupted_bytes(_target(name).samples), "payload"))
