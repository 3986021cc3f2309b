"""Part 2 of `bench.gateway`: the processes around the gateway (publisher, gRPC sink, raw paho subscriber)
and the driver of the end-to-end runs (`run_end_to_end`, `Runner`).

Each peer runs in its own process (multiprocessing "spawn", started by `spawn_peer`), so none shares a GIL with
the gateway, and each is driven by commands over a Pipe:

- `publisher_main`: paho, QoS 1, 50-target radar frames on 16 RSU topics `rsu/RSU<i>/radar/radar0`
  (round robin). Every payload is rendered from a prebuilt template at publish time: `timeStamp` is the
  wall clock at the publish call (unix ms) and the first target's `targetId` is sequence * 1000 + the
  microseconds within that millisecond (`encode_target_id`). So each frame is distinct (the gateway drops
  exact re-deliveries), identifiable at the far end, and its publish time is known to the microsecond
  (a whole-ms stamp alone would bias latencies by up to 0.5 ms, as paced publishes keep one phase).
  Command `("run", rate, duration_s, window, first_sequence)`: publish at `rate` frames/s (paced: each
  frame goes out at its slot on the schedule), or with `rate` None as fast as possible while fewer than
  `window` frames are published but not yet delivered (read from the shared `delivered` counter), which
  bounds the backlog and with it the broker's memory and the drain time.
- `sink_main`: `roadlink.wire.server.start_server` with the real `PublishServicer` and a sink that records,
  per frame, its sequence and publish time (from time_unix_ms and objects[0].object_id), sink receive wall
  time and the latency receive wall time - publish time.
- `raw_subscriber_main`: the raw baseline, a bare paho subscriber (QoS 1, `rsu/+/radar/+`) that reads the
  stamp with a slice and the first targetId with `bytes.find` (no JSON parse) and records the same figures.

Collectors answer "reset" (start a run: clear the records, note CPU time) and "collect" (the `Records` of
the run). Every blocking wait is bounded, and `spawn_peer` always stops its process (terminate, then kill);
`run_end_to_end` stops the peers, the gateway and the broker on the way out, also on an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import multiprocessing
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from v2x.roadside.v1 import roadside_service_pb2 as rs_pb2
from v2x.roadside.v1 import roadside_service_pb2_grpc as rs_grpc

from gateway.node import GatewayNode
from gateway.settings import GatewaySettings
from roadlink.samples import load_radar_recording
from roadlink.wire.publish_server import PublishServicer
from roadlink.wire.server import ROADSIDE_SERVICE, ServiceBinding, start_server
from tests.broker import MosquittoBroker

__all__ = [
    "OBJECTS_PER_FRAME",
    "SUBSCRIPTION",
    "TOPICS",
    "Counter",
    "EndToEndProfile",
    "FrameTemplate",
    "PublishResult",
    "Records",
    "RunResult",
    "RunSpec",
    "Runner",
    "decode_target_id",
    "encode_target_id",
    "frame_templates",
    "progress",
    "publisher_main",
    "radar_frames",
    "raw_subscriber_main",
    "read_stamp",
    "read_target_id",
    "request",
    "run_end_to_end",
    "sink_main",
    "spawn_peer",
]

OBJECTS_PER_FRAME = 50
TOPICS = tuple(f"rsu/RSU{i}/radar/radar0" for i in range(16))
SUBSCRIPTION = "rsu/+/radar/+"

Counter = Any  # a multiprocessing Value("q") shared by the processes: frames delivered in the current run

_TEMPLATES = 500
_PADDING_ID_BASE = 1_000_000
_STAMP_MARK = "@@STAMP@@"
_SEQUENCE_MARK = "@@SEQUENCE@@"
_STAMP_HEAD = b'{"timeStamp":"'
_STAMP_SLICE = slice(len(_STAMP_HEAD), len(_STAMP_HEAD) + 13)  # 13 digits of unix ms until the year 2286
_TARGET_ID = b'"targetId":'
_MQTT_KEEPALIVE_S = 30
_CONNECT_TIMEOUT_S = 10.0
_PUBACK_TIMEOUT_S = 30.0
_START_TIMEOUT_S = 60.0
_COMMAND_TIMEOUT_S = 30.0
_POLL_S = 0.02
_SUBSCRIBE_SETTLE_S = 0.5
_STOP_TIMEOUT_S = 5.0
_SATURATION_BURST = 16
_IDLE_SLEEP_S = 0.0005


# ---- payloads ----------------------------------------------------------------------------------------


def radar_frames(count: int, objects: int = OBJECTS_PER_FRAME) -> list[dict[str, Any]]:
    """`count` distinct radar frames of exactly `objects` targets, from the recording (15-29 targets a frame).

    A frame keeps its own recorded targets (cut to `objects`) and is padded with targets of other recorded
    frames, renumbered from 1,000,000 so that ids stay unique within the frame. Key order puts `timeStamp`
    first and the first target's `targetId` first, which the templates and the raw subscriber rely on.
    """
    recording = [json.loads(message.payload) for message in load_radar_recording()]
    spare = [target for frame in recording for target in frame["targets"]]
    frames = []
    for index in range(count):
        source = recording[index % len(recording)]
        targets = [dict(target) for target in source["targets"][:objects]]
        cursor = index * objects
        while len(targets) < objects:
            padding = dict(spare[cursor % len(spare)])
            padding["targetId"] = _PADDING_ID_BASE + len(targets)
            targets.append(padding)
            cursor += 1
        first = targets[0]
        targets[0] = {"targetId": first.pop("targetId"), **first}
        stamp = int(source["timeStamp"]) + index
        frames.append({"timeStamp": str(stamp), "number": objects, "deviceId": "bench", "targets": targets})
    return frames


@dataclass(frozen=True, slots=True)
class FrameTemplate:
    """A radar payload with holes for the stamp and the first target id: head + stamp + mid + id + tail."""

    head: bytes
    mid: bytes
    tail: bytes

    def render(self, time_unix_ms: int, target_id: int) -> bytes:
        return b"".join((self.head, str(time_unix_ms).encode(), self.mid, str(target_id).encode(), self.tail))


def frame_templates(count: int = _TEMPLATES) -> list[FrameTemplate]:
    """Templates of `count` distinct 50-target frames (compact JSON, about 13 KB each)."""
    templates = []
    for frame in radar_frames(count):
        frame["timeStamp"] = _STAMP_MARK
        frame["targets"][0]["targetId"] = _SEQUENCE_MARK
        text = json.dumps(frame, separators=(",", ":")).encode()
        head, rest = text.split(_STAMP_MARK.encode())
        mid, tail = rest.split(b'"' + _SEQUENCE_MARK.encode() + b'"')
        if head != _STAMP_HEAD:
            raise AssertionError(f"template must start with {_STAMP_HEAD!r}, got {head!r}")
        templates.append(FrameTemplate(head, mid, tail))
    return templates


def encode_target_id(sequence: int, micros: int) -> int:
    """The first target's id: the frame's sequence and the microseconds (0..999) past its whole-ms stamp."""
    return sequence * 1000 + micros


def decode_target_id(target_id: int, stamp_ms: int) -> tuple[int, float]:
    """(sequence, publish wall time in ms with microseconds) from the first target's id and the stamp."""
    sequence, micros = divmod(target_id, 1000)
    return sequence, stamp_ms + micros / 1000.0


def read_stamp(payload: bytes | bytearray) -> int:
    """The publish stamp of a rendered payload, by slicing (no JSON parse)."""
    return int(payload[_STAMP_SLICE])


def read_target_id(payload: bytes | bytearray) -> int:
    """The first `targetId` of a rendered payload, found with bytes.find (no JSON parse)."""
    start = payload.find(_TARGET_ID) + len(_TARGET_ID)
    return int(payload[start : payload.find(b",", start)])


# ---- parent side -------------------------------------------------------------------------------------


@contextlib.contextmanager
def spawn_peer(target: Callable[..., None], args: Sequence[object], name: str) -> Iterator[Connection]:
    """Run `target(conn, *args)` in a spawned process; yields the parent's end of the pipe, always stops it."""
    context = multiprocessing.get_context("spawn")
    parent_conn, child_conn = context.Pipe()
    process = context.Process(target=target, args=(child_conn, *args), name=name, daemon=True)
    process.start()
    child_conn.close()
    try:
        yield parent_conn
    finally:
        with contextlib.suppress(OSError):
            parent_conn.send(("stop",))
        parent_conn.close()
        _stop(process)


def _stop(process: BaseProcess) -> None:
    process.join(_STOP_TIMEOUT_S)
    if process.is_alive():
        process.terminate()
        process.join(_STOP_TIMEOUT_S)
    if process.is_alive():
        process.kill()
        process.join(_STOP_TIMEOUT_S)


def request(conn: Connection, message: tuple[object, ...], timeout_s: float) -> Any:
    """Send a command and return the reply; TimeoutError after `timeout_s`, RuntimeError if the peer died."""
    conn.send(message)
    return receive(conn, timeout_s, str(message[0]))


def receive(conn: Connection, timeout_s: float, what: str) -> Any:
    """The next message from a peer within `timeout_s`; an exception it sent back is raised here."""
    if not conn.poll(timeout_s):
        raise TimeoutError(f"peer gave no answer to {what!r} within {timeout_s} s")
    try:
        reply = conn.recv()
    except EOFError:
        raise RuntimeError(f"peer exited while handling {what!r}") from None
    if isinstance(reply, BaseException):
        raise RuntimeError(f"peer failed on {what!r}: {reply!r}") from reply
    return reply


# ---- records -----------------------------------------------------------------------------------------


@dataclass(slots=True)
class Records:
    """What a collector saw in one run: per frame (sequence, receive wall time ms, latency ms); its CPU time."""

    frames: list[tuple[int, float, float]] = field(default_factory=list)
    cpu_s: float = 0.0


@dataclass(frozen=True, slots=True)
class PublishResult:
    """One publisher run: sequences [first_sequence, first_sequence + count), wall times (ms), CPU, errors."""

    first_sequence: int
    count: int
    start_ms: float
    end_ms: float
    cpu_s: float
    errors: int


class _Collector:
    """Records frames on whatever thread delivers them; the command loop swaps the records."""

    def __init__(self, delivered: Counter) -> None:
        self.delivered = delivered
        self.records = Records()
        self._cpu_start = time.process_time()

    def add(self, sequence: int, now_ms: float, latency_ms: float) -> None:
        self.records.frames.append((sequence, now_ms, latency_ms))  # one append: atomic against a swap

    def command(self, name: str) -> Records | str:
        if name == "reset":
            self.records = Records()
            self._cpu_start = time.process_time()
            return "ok"
        if name == "collect":
            records, self.records = self.records, Records()
            records.cpu_s = time.process_time() - self._cpu_start
            return records
        raise ValueError(f"unknown command {name!r}")


def _serve_commands(conn: Connection, handle: Callable[[tuple[Any, ...]], object]) -> None:
    """Answer commands until "stop" or the parent is gone; an exception is sent back, not raised."""
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message[0] == "stop":
            return
        try:
            reply = handle(message)
        except Exception as exc:  # the parent raises it with context
            reply = exc
        conn.send(reply)


# ---- gRPC sink ---------------------------------------------------------------------------------------


class LatencySink(_Collector):
    """A `BatchSink` that records every frame of every accepted batch."""

    async def accept(self, batch: rs_pb2.PublishRequest) -> Sequence[rs_pb2.ItemRejection]:
        now_ms = time.time() * 1000.0
        frames = batch.frames
        for frame in frames:
            sequence, publish_ms = decode_target_id(frame.objects[0].object_id, frame.time_unix_ms)
            self.add(sequence, now_ms, now_ms - publish_ms)
        with self.delivered.get_lock():
            self.delivered.value += len(frames)
        return ()


def sink_main(conn: Connection, delivered: Counter) -> None:
    """Sink process: serve Publish on a free loopback port, send the port, answer commands."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent owns Ctrl-C and stops us
    asyncio.run(_sink(conn, delivered))


async def _sink(conn: Connection, delivered: Counter) -> None:
    sink = LatencySink(delivered)
    binding = ServiceBinding(PublishServicer(sink), rs_grpc.add_RoadsideServiceServicer_to_server, ROADSIDE_SERVICE)
    server = await start_server([binding], "127.0.0.1:0")
    try:
        conn.send(server.port)
        loop = asyncio.get_running_loop()

        def handle(message: tuple[Any, ...]) -> object:  # on the command thread: swap on the event loop
            return asyncio.run_coroutine_threadsafe(_on_loop(sink.command, message[0]), loop).result(_START_TIMEOUT_S)

        await asyncio.to_thread(_serve_commands, conn, handle)
    finally:
        await server.stop(0.5)


async def _on_loop(function: Callable[[str], object], argument: str) -> object:
    return function(argument)


# ---- raw paho subscriber -----------------------------------------------------------------------------


def raw_subscriber_main(conn: Connection, host: str, port: int, delivered: Counter) -> None:
    """Raw baseline process: subscribe at QoS 1, send "ready", record every message, answer commands."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    collector = _Collector(delivered)
    subscribed = threading.Event()

    def on_message(client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        now_ms = time.time() * 1000.0
        payload = message.payload
        sequence, publish_ms = decode_target_id(read_target_id(payload), read_stamp(payload))
        collector.add(sequence, now_ms, now_ms - publish_ms)
        with delivered.get_lock():
            delivered.value += 1

    def on_connect(client: paho.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        client.subscribe(SUBSCRIPTION, qos=1)

    def on_subscribe(client: paho.Client, userdata: Any, mid: int, reasons: Any, props: Any) -> None:
        subscribed.set()

    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-raw-subscriber", protocol=paho.MQTTv5)
    client.on_message, client.on_connect, client.on_subscribe = on_message, on_connect, on_subscribe
    client.connect(host, port, _MQTT_KEEPALIVE_S)
    client.loop_start()
    try:
        conn.send("ready" if subscribed.wait(_CONNECT_TIMEOUT_S) else TimeoutError("raw subscriber not subscribed"))
        _serve_commands(conn, lambda message: collector.command(message[0]))
    finally:
        client.disconnect()
        client.loop_stop()


# ---- publisher ---------------------------------------------------------------------------------------


class _Publisher:
    def __init__(self, client: paho.Client, delivered: Counter) -> None:
        self._client = client
        self._delivered = delivered
        self._templates = frame_templates()
        self._last: paho.MQTTMessageInfo | None = None
        self._errors = 0

    def _publish(self, sequence: int) -> None:
        template = self._templates[sequence % len(self._templates)]
        stamp_ms, micros = divmod(time.time_ns() // 1000, 1000)
        payload = template.render(stamp_ms, encode_target_id(sequence, micros))
        info = self._client.publish(TOPICS[sequence % len(TOPICS)], payload, qos=1)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            self._errors += 1
        self._last = info

    def run(self, rate: float | None, duration_s: float, window: int, first: int) -> PublishResult:
        """Publish for `duration_s`: paced at `rate` frames/s, or (rate None) as fast as `window` allows."""
        self._errors = 0
        cpu_start = time.process_time()
        start_ms = time.time() * 1000.0
        started = time.perf_counter()
        count = self._paced(rate, duration_s, first, started) if rate else self._flood(duration_s, window, first)
        end_ms = time.time() * 1000.0
        if self._last is not None:
            self._last.wait_for_publish(_PUBACK_TIMEOUT_S)
        return PublishResult(first, count, start_ms, end_ms, time.process_time() - cpu_start, self._errors)

    def _paced(self, rate: float, duration_s: float, first: int, started: float) -> int:
        count = 0
        while (elapsed := time.perf_counter() - started) < duration_s:
            due = int(elapsed * rate) + 1
            while count < due:
                self._publish(first + count)
                count += 1
            time.sleep(max(0.0, count / rate - (time.perf_counter() - started)))
        return count

    def _flood(self, duration_s: float, window: int, first: int) -> int:
        count = 0
        deadline = time.perf_counter() + duration_s
        while time.perf_counter() < deadline:
            if count - self._delivered.value >= window:
                time.sleep(_IDLE_SLEEP_S)
                continue
            for _ in range(_SATURATION_BURST):
                self._publish(first + count)
                count += 1
        return count


def publisher_main(conn: Connection, host: str, port: int, delivered: Counter) -> None:
    """Publisher process: connect, send "ready", then run publish commands until "stop"."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-publisher", protocol=paho.MQTTv5)
    client.max_inflight_messages_set(1_000)
    client.max_queued_messages_set(0)
    connected = threading.Event()
    client.on_connect = lambda *_: connected.set()
    publisher = _Publisher(client, delivered)
    client.connect(host, port, _MQTT_KEEPALIVE_S)
    client.loop_start()
    try:
        conn.send("ready" if connected.wait(_CONNECT_TIMEOUT_S) else TimeoutError("publisher not connected"))
        _serve_commands(conn, lambda message: publisher.run(*message[1:]))
    finally:
        client.disconnect()
        client.loop_stop()


# ---- driver ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EndToEndProfile:
    """How long to run: per paced offered load, the saturation run, the warm-up; the saturation window; the
    longest wait for the last frames after publishing stopped."""

    run_s: float
    saturation_s: float
    warmup_s: float
    window: int
    drain_timeout_s: float


@dataclass(frozen=True, slots=True)
class RunSpec:
    """One run: its label, the offered load (frames/s; None = saturation) and how long it publishes."""

    label: str
    rate: float | None  # None: saturation
    duration_s: float


@dataclass(frozen=True, slots=True)
class RunResult:
    """What one run measured (rates per second, latencies in ms, CPU in cores used while publishing)."""

    path: str
    spec: RunSpec
    published: int
    publish_per_s: float
    delivered: int
    lost: int
    duplicates: int
    delivered_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    path_cores: float  # CPU of the gateway process, or of the raw subscriber
    sink_cores: float
    publisher_cores: float
    broker_cores: float
    machine_busy: float  # share of all cores
    publish_errors: int
    dead_lettered: int = 0
    normalized_per_s: float | None = None  # gateway only: messages through Pipeline.process while publishing

    @property
    def other_cores(self) -> float:
        """Busy cores of the machine not used by the measured processes: kernel networking, other load."""
        ours = self.path_cores + self.sink_cores + self.publisher_cores + self.broker_cores
        return max(0.0, self.machine_busy * (os.cpu_count() or 1) - ours)


def _percentile(sorted_values: Sequence[float], fraction: float) -> float:
    if not sorted_values:
        return math.nan
    return sorted_values[min(len(sorted_values) - 1, max(0, math.ceil(fraction * len(sorted_values)) - 1))]


def _cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all cores from /proc/stat; (0, 0) where it does not exist."""
    try:
        fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def _broker_pid(broker: MosquittoBroker) -> int | None:
    """Pid of the broker process, found by its config file on its command line (None if not found)."""
    needle = str(broker.config_path).encode()
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            if needle in (entry / "cmdline").read_bytes():
                return int(entry.name)
    return None


def _process_cpu_s(pid: int | None) -> float:
    """User + system CPU seconds of a process from /proc (0.0 when unknown)."""
    if pid is None:
        return 0.0
    try:
        fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def summarize(
    path: str, spec: RunSpec, published: PublishResult, records: Records, extra: Mapping[str, float]
) -> RunResult:
    """Losses, duplicates, the steady delivered rate and latency percentiles of one run."""
    first, last = published.first_sequence, published.first_sequence + published.count
    in_run = [frame for frame in records.frames if first <= frame[0] < last]
    distinct: dict[int, float] = {}
    for sequence, _, latency_ms in in_run:
        distinct.setdefault(sequence, latency_ms)
    warm_ms = min(1_000.0, spec.duration_s * 200.0)
    window_start = published.start_ms + warm_ms
    in_window = sum(1 for _, receive_ms, _ in in_run if window_start <= receive_ms <= published.end_ms)
    wall_s = (published.end_ms - published.start_ms) / 1000.0
    latencies = sorted(distinct.values())
    return RunResult(
        path=path,
        spec=spec,
        published=published.count,
        publish_per_s=published.count / wall_s,
        delivered=len(distinct),
        lost=published.count - len(distinct),
        duplicates=len(in_run) - len(distinct),
        delivered_per_s=in_window / ((published.end_ms - window_start) / 1000.0),
        p50_ms=_percentile(latencies, 0.50),
        p99_ms=_percentile(latencies, 0.99),
        max_ms=latencies[-1] if latencies else math.nan,
        path_cores=extra["path_cpu_s"] / wall_s,
        sink_cores=extra["sink_cpu_s"] / wall_s,
        publisher_cores=published.cpu_s / wall_s,
        broker_cores=extra["broker_cpu_s"] / wall_s,
        machine_busy=extra["machine_busy"],
        publish_errors=published.errors,
        dead_lettered=int(extra.get("dead_lettered", 0)),
        normalized_per_s=extra["normalized"] / wall_s if "normalized" in extra else None,
    )


class Runner:
    """Drives one run: reset the collector, publish, wait for delivery (bounded), collect, summarize."""

    def __init__(
        self, publisher: Connection, delivered: Counter, profile: EndToEndProfile, broker_pid: int | None
    ) -> None:
        self._publisher = publisher
        self._broker_pid = broker_pid
        self._delivered = delivered
        self._profile = profile
        self._next_sequence = 1

    async def run(self, path: str, spec: RunSpec, collector: Connection, gateway: GatewayNode | None) -> RunResult:
        await asyncio.to_thread(request, collector, ("reset",), _COMMAND_TIMEOUT_S)
        with self._delivered.get_lock():
            self._delivered.value = 0
        dead_before = gateway.source.dead_lettered if gateway is not None else 0
        in_before = gateway.pipeline.stats.messages_in if gateway is not None else 0
        busy_before, total_before = _cpu_ticks()
        cpu_before, broker_before = time.process_time(), _process_cpu_s(self._broker_pid)
        command = ("run", spec.rate, spec.duration_s, self._profile.window, self._next_sequence)
        published: PublishResult = await asyncio.to_thread(
            request, self._publisher, command, spec.duration_s + _COMMAND_TIMEOUT_S
        )
        own_cpu_s = time.process_time() - cpu_before
        in_after = gateway.pipeline.stats.messages_in if gateway is not None else 0
        broker_cpu_s = _process_cpu_s(self._broker_pid) - broker_before
        busy_after, total_after = _cpu_ticks()
        self._next_sequence += published.count
        await self._wait_delivered(published.count)
        records: Records = await asyncio.to_thread(request, collector, ("collect",), _COMMAND_TIMEOUT_S)
        extra: dict[str, float] = {
            "path_cpu_s": own_cpu_s if gateway is not None else records.cpu_s,
            "sink_cpu_s": records.cpu_s if gateway is not None else 0.0,
            "broker_cpu_s": broker_cpu_s,
            "machine_busy": (busy_after - busy_before) / max(1, total_after - total_before),
            "dead_lettered": (gateway.source.dead_lettered - dead_before) if gateway is not None else 0,
        }
        if gateway is not None:
            extra["normalized"] = in_after - in_before
        result = summarize(path, spec, published, records, extra)
        progress(f"{path} {spec.label}: {result.delivered_per_s:,.0f} frames/s delivered, p99 {result.p99_ms:.1f} ms")
        return result

    async def _wait_delivered(self, count: int) -> None:
        deadline = time.monotonic() + self._profile.drain_timeout_s
        while self._delivered.value < count and time.monotonic() < deadline:  # noqa: ASYNC110 - a shared counter
            await asyncio.sleep(_POLL_S)


def _specs(profile: EndToEndProfile) -> list[RunSpec]:
    return [
        RunSpec("500/s", 500.0, profile.run_s),
        RunSpec("1000/s", 1_000.0, profile.run_s),
        RunSpec("2000/s", 2_000.0, profile.run_s),
        RunSpec("saturation", None, profile.saturation_s),
    ]


async def _raw_runs(
    runner: Runner, broker: MosquittoBroker, delivered: Counter, profile: EndToEndProfile
) -> list[RunResult]:
    with spawn_peer(raw_subscriber_main, (broker.host, broker.port, delivered), "bench-gateway-raw") as raw:
        await asyncio.to_thread(receive, raw, _START_TIMEOUT_S, "start")
        await runner.run("raw", RunSpec("warm-up", 500.0, profile.warmup_s), raw, None)
        return [await runner.run("raw paho", spec, raw, None) for spec in _specs(profile)]


async def _gateway_runs(
    runner: Runner, broker: MosquittoBroker, sink: Connection, sink_port: int, profile: EndToEndProfile
) -> list[RunResult]:
    settings = GatewaySettings.load(
        gateway_id="bench-gateway",
        mqtt_url=broker.url,
        roadside_target=f"127.0.0.1:{sink_port}",
        max_age_ms=60_000,
    )
    async with GatewayNode(settings) as gateway:
        await gateway.wait_connected(_START_TIMEOUT_S)
        await asyncio.sleep(_SUBSCRIBE_SETTLE_S)  # `connected` is set when SUBSCRIBE is sent, not acknowledged
        progress(f"gateway process pid {os.getpid()} connected")
        await runner.run("gateway", RunSpec("warm-up", 500.0, profile.warmup_s), sink, gateway)
        return [await runner.run("gateway", spec, sink, gateway) for spec in _specs(profile)]


async def run_end_to_end(profile: EndToEndProfile) -> list[RunResult]:
    """Part 2: broker, sink, publisher; the raw subscriber's runs, then the gateway's. Always cleans up."""
    context = multiprocessing.get_context("spawn")
    delivered = context.Value("q", 0)
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-gateway-")))
        broker = stack.enter_context(MosquittoBroker(workdir))
        sink = stack.enter_context(spawn_peer(sink_main, (delivered,), "bench-gateway-sink"))
        publisher_args = (broker.host, broker.port, delivered)
        publisher = stack.enter_context(spawn_peer(publisher_main, publisher_args, "bench-gateway-publisher"))
        sink_port: int = await asyncio.to_thread(receive, sink, _START_TIMEOUT_S, "start")
        await asyncio.to_thread(receive, publisher, _START_TIMEOUT_S, "start")
        runner = Runner(publisher, delivered, profile, _broker_pid(broker))
        raw = await _raw_runs(runner, broker, delivered, profile)
        return raw + await _gateway_runs(runner, broker, sink, sink_port, profile)
    raise AssertionError("unreachable")  # pragma: no cover - ExitStack does not swallow exceptions here


def progress(text: str) -> None:
    """A progress line on stderr (stdout keeps the table and the final JSON line)."""
    print(f"[bench.gateway] {text}", file=sys.stderr, flush=True)
