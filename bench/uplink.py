"""Throughput of `BatchUplink` -> `PublishServicer` against raw `grpc.aio` Publish streams on 127.0.0.1.

Run: `python -m bench.uplink [--quick|--full] [--messages N] [--runs R]` (quick is the default and takes
well under a minute on 2 shared cores).

The servers run in a separate process (multiprocessing "spawn"), so client and server share neither an
event loop nor a GIL. That process hosts three servers on port 0:

- `raw`: a bare `grpc.aio.server` with a minimal servicer that acks every request (no roadlink code),
- `raw-rl`: the same minimal servicer behind `roadlink.wire.server.start_server` (interceptor, health,
  reflection), which separates the cost of our server setup from the cost of our client,
- `roadlink`: `start_server` with the real `PublishServicer` and a sink that only counts.

Modes (client side; every request carries `VehicleState`s built up front with realistic values):

- `raw b100` / `raw b1`: the generated stub's `Publish` bidi stream, 100 or 1 VehicleState per write,
  acks read concurrently; timed from the first write to the last ack. `raw b1` is the perf-ceilings
  "cstream" figure, except that every write is also acked here.
- `uplink b100` / `uplink b256`: `BatchUplink` (default linger), one `send` per state as the gateway does;
  timed from the first `send` until `flush()` returned (every batch acknowledged).
- `uplink b256 many100`: the same with `send_many` of 100 states, as the roadside node forwards.
- with uvloop installed (it is never installed here), `raw b100` and `uplink b256` again on uvloop.

Runs are interleaved (mode A, B, C, A, B, C, ...) so that drift of the shared machine hits every mode
alike; each figure is the median over the runs, and `spread` is (max - min) / median of the rates.
Every run is bounded by a timeout, and the server process is always stopped (terminated if it hangs).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import importlib.util
import multiprocessing
import random
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from multiprocessing.connection import Connection
from typing import Any, cast

import grpc
from google.protobuf import __version__ as protobuf_version
from google.protobuf.internal import api_implementation
from grpc import aio
from v2x.common.v1 import common_pb2
from v2x.roadside.v1 import roadside_service_pb2 as rs_pb2
from v2x.roadside.v1 import roadside_service_pb2_grpc as rs_grpc
from v2x.vehicle.v1 import vehicle_pb2 as vh_pb2

from bench.report import Figure, format_table, headline_line, median_of
from roadlink.wire.publish_server import PublishServicer, batch_item_count
from roadlink.wire.server import ROADSIDE_SERVICE, RunningServer, ServiceBinding, start_server
from roadlink.wire.uplink import BatchUplink

__all__ = ["main"]

_FIELD = "vehicle_states"
_SENDER = "bench-uplink"
_POOL_STATES = 1_000
_WARMUP_MESSAGES = 1_000
_CONNECT_TIMEOUT_S = 5.0
_SERVER_START_TIMEOUT_S = 20.0
_SERVER_STOP_TIMEOUT_S = 5.0
_MAX_MESSAGE_BYTES = 32 * 1024 * 1024

Measure = Callable[[str, int], Awaitable[float]]
LoopFactory = Callable[[], asyncio.AbstractEventLoop]


@dataclass(frozen=True, slots=True)
class Profile:
    """How much to measure: messages per batched run, per per-message run, runs per mode, run timeout."""

    messages: int
    b1_messages: int
    runs: int
    run_timeout_s: float


QUICK = Profile(messages=300_000, b1_messages=10_000, runs=3, run_timeout_s=20.0)
FULL = Profile(messages=1_000_000, b1_messages=30_000, runs=5, run_timeout_s=90.0)


@dataclass(frozen=True, slots=True)
class Mode:
    """One measured configuration: which server it talks to and how the client sends."""

    name: str
    server: str
    messages: int
    measure: Measure


@dataclass(slots=True)
class Result:
    """The runs of one mode: elapsed seconds per run."""

    mode: Mode
    seconds: list[float] = field(default_factory=list)

    @property
    def rates(self) -> list[float]:
        return [self.mode.messages / s for s in self.seconds]

    @property
    def rate(self) -> float:
        return median_of(self.rates)

    @property
    def spread(self) -> float:
        return (max(self.rates) - min(self.rates)) / self.rate


# ---- test data ---------------------------------------------------------------------------------------


def vehicle_states(count: int, seed: int = 7) -> list[vh_pb2.VehicleState]:
    """`count` distinct BSM-like states of passenger cars around one intersection."""
    rng = random.Random(seed)
    now_ms = time.time_ns() // 1_000_000
    return [_vehicle_state(rng, index, now_ms) for index in range(count)]


def _vehicle_state(rng: random.Random, index: int, now_ms: int) -> vh_pb2.VehicleState:
    temporary_id = rng.randbytes(4)
    on, off = vh_pb2.SYSTEM_STATE_ON, vh_pb2.SYSTEM_STATE_OFF
    return vh_pb2.VehicleState(
        temporary_id=temporary_id,
        message_count=index % 128,
        time_unix_ms=now_ms + index,
        position=common_pb2.Position(
            latitude_deg=39.904200 + rng.uniform(-0.003, 0.003),
            longitude_deg=116.407400 + rng.uniform(-0.003, 0.003),
            elevation_m=rng.uniform(40.0, 55.0),
        ),
        accuracy=common_pb2.PositionAccuracy(
            semi_major_m=rng.uniform(0.5, 3.0), semi_minor_m=rng.uniform(0.3, 1.5), semi_major_orientation_deg=12.5
        ),
        speed_mps=rng.uniform(0.0, 22.0),
        heading_deg=rng.uniform(0.0, 360.0),
        steering_wheel_angle_deg=rng.uniform(-15.0, 15.0),
        longitudinal_acceleration_mps2=rng.uniform(-3.0, 2.0),
        lateral_acceleration_mps2=rng.uniform(-1.0, 1.0),
        vertical_acceleration_mps2=rng.uniform(-0.2, 0.2),
        yaw_rate_deg_per_s=rng.uniform(-5.0, 5.0),
        brakes=vh_pb2.BrakeStatus(
            wheel_brakes=vh_pb2.WheelBrakes(),
            traction_control=on,
            anti_lock_brakes=on,
            stability_control=on,
            brake_boost=off,
            auxiliary_brakes=off,
        ),
        transmission=vh_pb2.TRANSMISSION_STATE_FORWARD_GEARS,
        size=common_pb2.Dimensions(length_m=4.7, width_m=1.85, height_m=1.5),
        vehicle_class=common_pb2.OBJECT_CLASS_PASSENGER_CAR,
        lights=vh_pb2.ExteriorLights(low_beam=True, daytime_running=True),
        provenance=common_pb2.Provenance(
            source_id=temporary_id.hex(),
            source_time_unix_ms=now_ms + index,
            gateway_receive_time_unix_ms=now_ms + index + 3,
            topic="v2x/rsu/rsu-0001/bsm",
            source_sequence=index % 128,
        ),
    )


def publish_requests(states: Sequence[vh_pb2.VehicleState], per_request: int) -> list[rs_pb2.PublishRequest]:
    """Requests of `per_request` states each, cycling through `states` (their sequence is set when sent)."""
    requests = []
    for first in range(0, len(states), per_request):
        request = rs_pb2.PublishRequest(sender_id=_SENDER, sender_epoch=1, sent_time_unix_ms=time.time_ns() // 10**6)
        request.vehicle_states.extend(states[(first + i) % len(states)] for i in range(per_request))
        requests.append(request)
    return requests


# ---- server process ----------------------------------------------------------------------------------


class AckServicer(rs_grpc.RoadsideServiceServicer):
    """The minimal Publish servicer of the raw baseline: acks every request by its sequence."""

    async def Publish(  # noqa: N802 - generated method name
        self,
        request_iterator: AsyncIterator[rs_pb2.PublishRequest],
        context: aio.ServicerContext[Any, Any],
    ) -> AsyncIterator[rs_pb2.PublishResponse]:
        async for request in request_iterator:
            yield rs_pb2.PublishResponse(acknowledged_sequence=request.sequence)


class CountingSink:
    """A `BatchSink` that accepts everything and only counts the items."""

    def __init__(self) -> None:
        self.items = 0

    async def accept(self, batch: rs_pb2.PublishRequest) -> Sequence[rs_pb2.ItemRejection]:
        self.items += batch_item_count(batch)
        return ()


def serve(conn: Connection) -> None:
    """Server process entry point: start the servers, send their ports, stop when told (or orphaned)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent owns Ctrl-C and stops us
    asyncio.run(_serve(conn))


async def _serve(conn: Connection) -> None:
    raw = aio.server(
        options=[
            ("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", _MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 0),
        ]
    )
    rs_grpc.add_RoadsideServiceServicer_to_server(AckServicer(), raw)
    raw_port = raw.add_insecure_port("127.0.0.1:0")
    await raw.start()
    register = rs_grpc.add_RoadsideServiceServicer_to_server
    raw_rl = await start_server([ServiceBinding(AckServicer(), register, ROADSIDE_SERVICE)], "127.0.0.1:0")
    sink = CountingSink()
    roadlink = await start_server([ServiceBinding(PublishServicer(sink), register, ROADSIDE_SERVICE)], "127.0.0.1:0")
    servers: list[RunningServer] = [raw_rl, roadlink]
    try:
        conn.send({"raw": raw_port, "raw-rl": raw_rl.port, "roadlink": roadlink.port})
        await asyncio.to_thread(_wait_for_stop, conn)
    finally:
        await raw.stop(0.5)
        for server in servers:
            await server.stop(0.5)


def _wait_for_stop(conn: Connection) -> None:
    with contextlib.suppress(EOFError, OSError):
        conn.recv()


@contextlib.contextmanager
def server_process() -> Iterator[dict[str, int]]:
    """Run `serve` in a spawned process; yields {server name: port} and always stops the process."""
    context = multiprocessing.get_context("spawn")
    parent_conn, child_conn = context.Pipe()
    process = context.Process(target=serve, args=(child_conn,), name="bench-uplink-server", daemon=True)
    process.start()
    child_conn.close()
    try:
        if not parent_conn.poll(_SERVER_START_TIMEOUT_S):
            raise TimeoutError(f"server process did not start within {_SERVER_START_TIMEOUT_S} s")
        try:
            ports = cast(dict[str, int], parent_conn.recv())
        except EOFError:
            process.join(_SERVER_STOP_TIMEOUT_S)
            raise RuntimeError(f"server process exited during start-up (exit code {process.exitcode})") from None
        yield ports
    finally:
        with contextlib.suppress(OSError):
            parent_conn.send("stop")
        parent_conn.close()
        process.join(_SERVER_STOP_TIMEOUT_S)
        if process.is_alive():
            process.terminate()
            process.join(_SERVER_STOP_TIMEOUT_S)
        if process.is_alive():
            process.kill()
            process.join()


# ---- client measurements -----------------------------------------------------------------------------


async def measure_raw(requests: Sequence[rs_pb2.PublishRequest], target: str, messages: int) -> float:
    """Seconds to write `messages` states as the prebuilt `requests` on one Publish stream, acks included."""
    writes = messages // len(requests[0].vehicle_states)
    async with aio.insecure_channel(target) as channel:
        await asyncio.wait_for(channel.channel_ready(), _CONNECT_TIMEOUT_S)
        call = rs_grpc.RoadsideServiceStub(channel).Publish()
        started = time.perf_counter()
        reader = asyncio.create_task(_count_acks(call))
        try:
            for index in range(writes):
                request = requests[index % len(requests)]
                request.sequence = index + 1  # the write serializes before it awaits
                await call.write(request)
            await call.done_writing()
            acks = await reader
        finally:
            reader.cancel()
            call.cancel()
        elapsed = time.perf_counter() - started
    if acks != writes:
        raise RuntimeError(f"raw stream: {acks} acks for {writes} writes")
    return elapsed


async def _count_acks(call: Any) -> int:
    acks = 0
    async for _ in call:
        acks += 1
    return acks


async def measure_uplink(
    states: Sequence[vh_pb2.VehicleState], max_batch_items: int, chunk: int, target: str, messages: int
) -> float:
    """Seconds from the first send of `messages` states (`chunk` per call) until BatchUplink.flush returned."""
    uplink = BatchUplink(target, _SENDER, max_batch_items=max_batch_items)
    runner = asyncio.create_task(uplink.run(), name="bench-uplink-run")
    try:
        async with asyncio.timeout(_CONNECT_TIMEOUT_S):
            while not uplink.stats.connected:  # noqa: ASYNC110 - BatchUplink has no "connected" event
                await asyncio.sleep(0.005)
        started = time.perf_counter()
        if chunk == 1:
            for index in range(messages):
                await uplink.send(_FIELD, states[index % len(states)])
        else:
            chunks = [states[first : first + chunk] for first in range(0, len(states), chunk)]
            for index in range(messages // chunk):
                await uplink.send_many(_FIELD, chunks[index % len(chunks)])
        if not await uplink.flush(timeout_s=3600.0):  # the caller's run timeout is the real bound
            raise TimeoutError("flush did not complete")
        elapsed = time.perf_counter() - started
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
    if uplink.stats.items_acked != messages:
        raise RuntimeError(f"uplink: {uplink.stats.items_acked} acked of {messages}")
    return elapsed


def build_modes(profile: Profile, suffix: str = "", *, full_set: bool = True) -> list[Mode]:
    """The measured modes; without `full_set` only the two headline ones (raw b100 and uplink b256)."""
    states = vehicle_states(_POOL_STATES)
    b100 = publish_requests(states, 100)
    n, n1 = profile.messages, profile.b1_messages
    modes = [
        Mode("raw b100" + suffix, "raw", n, partial(measure_raw, b100)),
        Mode("raw b1" + suffix, "raw", n1, partial(measure_raw, publish_requests(states, 1))),
        Mode("raw b100 start_server" + suffix, "raw-rl", n, partial(measure_raw, b100)),
        Mode("uplink b100" + suffix, "roadlink", n, partial(measure_uplink, states, 100, 1)),
        Mode("uplink b256" + suffix, "roadlink", n, partial(measure_uplink, states, 256, 1)),
        Mode("uplink b256 many100" + suffix, "roadlink", n, partial(measure_uplink, states, 256, 100)),
    ]
    headline = {"raw b100" + suffix, "uplink b256" + suffix}
    return modes if full_set else [mode for mode in modes if mode.name in headline]


async def run_modes(modes: Sequence[Mode], ports: dict[str, int], profile: Profile) -> list[Result]:
    """Warm every mode up once, then measure `profile.runs` interleaved rounds, each run bounded in time."""
    results = [Result(mode) for mode in modes]
    for mode in modes:
        await _bounded(mode, ports, _WARMUP_MESSAGES, profile.run_timeout_s)
    for _ in range(profile.runs):
        for result in results:
            result.seconds.append(await _bounded(result.mode, ports, result.mode.messages, profile.run_timeout_s))
    return results


async def _bounded(mode: Mode, ports: dict[str, int], messages: int, timeout_s: float) -> float:
    try:
        async with asyncio.timeout(timeout_s):
            return await mode.measure(f"127.0.0.1:{ports[mode.server]}", messages)
    except TimeoutError:
        raise TimeoutError(f"{mode.name}: {messages} messages took more than {timeout_s} s") from None


# ---- report ------------------------------------------------------------------------------------------


def table(results: Sequence[Result], raw_b100_per_s: float) -> str:
    rows: list[list[object]] = [["mode", "messages", "seconds", "msgs/s", "spread", "ratio vs raw b100"]]
    for result in results:
        seconds = median_of(result.seconds)
        ratio = result.rate / raw_b100_per_s
        rows.append([result.mode.name, result.mode.messages, seconds, result.rate, result.spread, ratio])
    return format_table(rows)


def headline(results: Sequence[Result], profile: Profile, uvloop_used: bool) -> dict[str, Figure]:
    rate = {result.mode.name: result.rate for result in results}
    raw_b100 = rate["raw b100"]
    figures: dict[str, Figure] = {
        "raw_b100_per_s": round(raw_b100),
        "raw_b1_per_s": round(rate["raw b1"]),
        "uplink_per_s": round(rate["uplink b256"]),
        "uplink_ratio_vs_raw_b100": round(rate["uplink b256"] / raw_b100, 3),
        "uplink_b100_per_s": round(rate["uplink b100"]),
        "uplink_b100_ratio_vs_raw_b100": round(rate["uplink b100"] / raw_b100, 3),
        "uplink_send_many_per_s": round(rate["uplink b256 many100"]),
        "uplink_send_many_ratio_vs_raw_b100": round(rate["uplink b256 many100"] / raw_b100, 3),
        "raw_b100_start_server_per_s": round(rate["raw b100 start_server"]),
        "uvloop": uvloop_used,
    }
    if uvloop_used:
        figures["raw_b100_uvloop_per_s"] = round(rate["raw b100 uvloop"])
        figures["uplink_uvloop_per_s"] = round(rate["uplink b256 uvloop"])
        figures["uplink_uvloop_ratio_vs_raw_b100_uvloop"] = round(
            rate["uplink b256 uvloop"] / rate["raw b100 uvloop"], 3
        )
    figures |= {
        "messages": profile.messages,
        "b1_messages": profile.b1_messages,
        "runs": profile.runs,
        "grpc": grpc.__version__,
        "protobuf": f"{protobuf_version} {api_implementation.Type()}",
    }
    return figures


def _uvloop_factory() -> LoopFactory | None:
    if importlib.util.find_spec("uvloop") is None:
        return None
    return cast(LoopFactory, importlib.import_module("uvloop").new_event_loop)


def parse_profile(argv: Sequence[str] | None) -> Profile:
    parser = argparse.ArgumentParser(prog="python -m bench.uplink", description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="the default: a run of well under a minute")
    size.add_argument("--full", action="store_true", help="1,000,000 states per batched run, 5 runs per mode")
    parser.add_argument("--messages", type=int, help="states per batched run (a multiple of 100, >= 1000)")
    parser.add_argument("--runs", type=int, help="runs per mode (the median is reported)")
    args = parser.parse_args(argv)
    profile = FULL if args.full else QUICK
    if args.messages is not None:
        if args.messages < 1_000 or args.messages % 100:
            parser.error("--messages must be a multiple of 100 and at least 1000")
        profile = Profile(args.messages, max(500, args.messages // 30), profile.runs, profile.run_timeout_s)
    if args.runs is not None:
        if args.runs < 1:
            parser.error("--runs must be at least 1")
        profile = Profile(profile.messages, profile.b1_messages, args.runs, profile.run_timeout_s)
    return profile


def main(argv: Sequence[str] | None = None) -> int:
    profile = parse_profile(argv)
    uvloop_factory = _uvloop_factory()
    started = time.perf_counter()
    with server_process() as ports:
        results = asyncio.run(run_modes(build_modes(profile), ports, profile))
        if uvloop_factory is not None:
            with asyncio.Runner(loop_factory=uvloop_factory) as runner:
                modes = build_modes(profile, " uvloop", full_set=False)
                results += runner.run(run_modes(modes, ports, profile))
    raw_b100 = next(result.rate for result in results if result.mode.name == "raw b100")
    print(f"bench.uplink: {profile.runs} runs per mode, median; {time.perf_counter() - started:.1f} s in all")
    print(table(results, raw_b100))
    print(headline_line(headline(results, profile, uvloop_factory is not None)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
