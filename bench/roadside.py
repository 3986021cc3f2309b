"""Roadside node and OEM SDK throughput on 127.0.0.1: durable outbox against in-memory, and 1,000 SDK vehicles.

Run: `python -m bench.roadside [--messages N] [--runs R] [--paced-seconds S] [--sdk-seconds S]` from the
repository root (60-70 s on 2 shared cores with the defaults). Every server and client runs in its own
spawned process (bench/roadside_peers.py), so no two of them share an event loop or a GIL; this process only
orchestrates.

Part 1, uplink through the roadside node. A sender process (`BatchUplink`, 256 per batch, default 2 ms
linger, one `send` per state as the gateway does) stamps each VehicleState's `time_unix_ms` with the wall
time just before its `send` and pushes it to a `RoadsideNode` (its own process), which forwards it to a sink
process (`start_server` + `PublishServicer` + a sink that counts and records receive wall time - stamp).
Modes, interleaved round by round so drift of the shared machine hits each alike:
- `durable`: the node with `state_dir` in a temporary directory (the SQLite WAL outbox, synchronous=NORMAL,
  the default `durable_sync=False`; a fresh outbox per run on the temp dir's file system),
- `memory`: the node without `state_dir` (in-memory BatchUplink),
- `direct`: the sender straight to the sink, no roadside node: the reference for "added" latency.
Loads: `saturated` sends N states as fast as the chain accepts them (backpressure from full buffers);
`states/s` = N / (first send -> the sink holding all N). Its latency is mostly time queued in the full
buffers. `paced` offers 10,000 states/s (half the 20,000 target) for a few seconds; its p99 minus the
direct path's p99 is the node's added p99 latency. Figures are medians over the runs; `spread` is
(max - min) / median of the rates. `cores` are each process's CPU seconds / wall seconds of the run;
`outbox busy` is the share of the run the outbox's single disk thread spent in its methods (append_many per
commit group of inbound batches, acknowledge_and_take per outbound batch; bench-side timers wrapped around
the product's methods), `batches/commit` the inbound batches per group commit; `node backlog` is
the most messages the node held for the sink (outbox rows, or queued + unacknowledged in memory; sampled every 10 ms).

Part 2, raw baseline in the same run: a bare `grpc.aio` client stream (`VehicleService.PublishState`,
256 VehicleStates per write) to a minimal servicer that counts, and the bare `RoadsideService.Publish` bidi
stream with 256 per write and every write acked (the shape the uplink uses); no roadlink code on either end;
512,000 states per run, 7 runs (it is the noisiest figure).

Part 3, the outbox alone (this process, no gRPC): the product's `Outbox` doing append + take_batch +
acknowledge of 256 states per round with an empty queue and with 25,600 unbatched rows waiting (a backlog,
as after a cloud outage), once with the product's index and once with the index rebuilt as
(batch, safety DESC, seq): this shows what take_batch's query plan costs as the backlog grows.

Part 4, OEM SDK: one process with `roadlink.sdk.VehicleClient` simulates 1,000 vehicles, each publishing
its state at 10 Hz (10,000 states/s), over one channel to a real `CloudNode` (own process). `managed` calls
`publish_state` per vehicle per tick (the SDK's publisher batches every pending vehicle into one
PublishStateRequest and rate-limits); `plain` uses `publisher().publish(*states)`, one write of all 1,000
states per tick. After a 1 s warm-up, the achieved rate is the number of states stamped inside the measured
window that reached the cloud's store, divided by the window; latency is the store's receive wall time minus
the state's stamp (the app's publish time). `kept up` = achieved >= 97 % of offered.

The last line is one JSON object of headline figures (see `headline`).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import __version__ as protobuf_version
from google.protobuf.internal import api_implementation

from bench.report import Figure, format_table, headline_line, median_of
from bench.roadside_peers import BATCH_ITEMS, FIELD, Peer, spawn_peers
from bench.uplink import vehicle_states
from roadside.batch_payload import encode_items
from roadside.outbox import Outbox, OutboxRow

__all__ = ["main"]

DURABLE_RATIO_TARGET = 0.7
STATES_PER_S_TARGET = 20_000.0
SDK_VEHICLES = 1_000
SDK_RATE_HZ = 10.0
SDK_KEPT_UP_FRACTION = 0.97
PACED_RATE_PER_S = 10_000.0
MODES = ("durable", "memory", "direct")
_START_TIMEOUT_S = 60.0
_COMMAND_TIMEOUT_S = 10.0
_DRAIN_TIMEOUT_S = 30.0
_SDK_WARMUP_S = 1.0


@dataclass(frozen=True, slots=True)
class Profile:
    """How much to measure."""

    messages: int
    paced_seconds: float
    runs: int
    raw_messages: int
    raw_runs: int
    sdk_seconds: float
    run_timeout_s: float = 60.0


DEFAULT = Profile(messages=100_000, paced_seconds=3.0, runs=3, raw_messages=512_000, raw_runs=7, sdk_seconds=5.0)


@dataclass(slots=True)
class UplinkRun:
    """One run of one mode and load, as seen by the sender, the sink and the node."""

    states: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    sender_cores: float
    node_cores: float | None
    sink_cores: float
    outbox_busy: float | None
    max_backlog: int | None
    node: dict[str, Any]

    @property
    def rate(self) -> float:
        return self.states / self.seconds


@dataclass(slots=True)
class UplinkResult:
    """The runs of one (mode, load)."""

    mode: str
    load: str
    runs: list[UplinkRun] = field(default_factory=list)

    def median(self, name: str) -> float:
        values = [float(getattr(run, name)) for run in self.runs if getattr(run, name) is not None]
        return median_of(values) if values else math.nan

    @property
    def rate(self) -> float:
        return median_of([run.rate for run in self.runs])

    @property
    def spread(self) -> float:
        rates = [run.rate for run in self.runs]
        return (max(rates) - min(rates)) / self.rate


@dataclass(slots=True)
class SdkResult:
    """One SDK run: offered and achieved states/s over the measured window."""

    mode: str
    offered_per_s: float
    sent_per_s: float
    achieved_per_s: float
    p50_ms: float
    p99_ms: float
    replaced: int
    late_ticks: int
    max_lag_ms: float
    sdk_cores: float
    cloud_cores: float

    @property
    def kept_up(self) -> bool:
        return self.achieved_per_s >= SDK_KEPT_UP_FRACTION * self.offered_per_s


# ---- part 1 ------------------------------------------------------------------------------------------


class UplinkBench:
    """Drives the sink, roadside and sender peers through the uplink runs."""

    def __init__(self, sink: Peer, roadside: Peer, sender: Peer, profile: Profile) -> None:
        self.sink, self.roadside, self.sender = sink, roadside, sender
        self.sink_target = f"127.0.0.1:{sink.info['sink']}"
        self.raw_target = f"127.0.0.1:{sink.info['raw']}"
        self.profile = profile
        self._run_number = 0

    def run(self, mode: str, states: int, rate_per_s: float | None) -> UplinkRun:
        """One run: a fresh node (for durable, a fresh outbox), `states` sent, waited for at the sink."""
        self._run_number += 1
        tag = f"{mode}-{self._run_number}"
        self.sink.call("reset", timeout_s=_COMMAND_TIMEOUT_S)
        target = self.sink_target
        if mode != "direct":
            port = self.roadside.call("start_node", f"rsu-{tag}", mode == "durable", self.sink_target, timeout_s=20.0)
            target = f"127.0.0.1:{port}"
        node: dict[str, Any] = {}
        try:
            sent = self.sender.call(
                "uplink", target, f"sender-{tag}", states, rate_per_s, timeout_s=self.profile.run_timeout_s
            )
            self._wait_delivered(states)
            seen = self.sink.call("collect", timeout_s=_COMMAND_TIMEOUT_S)
        finally:
            if mode != "direct":
                node = self.roadside.call("stop_node", timeout_s=20.0)
        if seen["items"] != states or sent["acked"] != states:
            raise RuntimeError(f"{tag}: sink saw {seen['items']}, sender acked {sent['acked']} of {states}")
        seconds = (seen["last_ms"] - sent["start_ns"] / 1e6) / 1e3
        sender_s = (sent["end_ns"] - sent["start_ns"]) / 1e9
        outbox_busy = None
        if node.get("disk_s"):
            outbox_busy = sum(node["disk_s"].values()) / node["wall_s"]
        return UplinkRun(
            states=states,
            seconds=seconds,
            p50_ms=seen["p50_ms"],
            p99_ms=seen["p99_ms"],
            max_ms=seen["max_ms"],
            sender_cores=sent["cpu_s"] / sender_s,
            node_cores=node["cpu_s"] / node["wall_s"] if node else None,
            sink_cores=seen["cpu_s"] / seconds,
            outbox_busy=outbox_busy,
            max_backlog=node["max_pending"] if node else None,
            node=node,
        )

    def _wait_delivered(self, states: int) -> None:
        deadline = time.monotonic() + _DRAIN_TIMEOUT_S
        while (count := self.sink.call("count", timeout_s=_COMMAND_TIMEOUT_S)) < states:
            if time.monotonic() > deadline:
                raise TimeoutError(f"sink holds {count} of {states} states after {_DRAIN_TIMEOUT_S} s")
            time.sleep(0.02)

    def measure(self) -> list[UplinkResult]:
        """Warm-up, then `runs` interleaved rounds of every mode saturated, then paced."""
        profile = self.profile
        for mode in MODES:
            self.run(mode, 10_000, None)
        saturated = {mode: UplinkResult(mode, "saturated") for mode in MODES}
        paced = {mode: UplinkResult(mode, f"paced {PACED_RATE_PER_S:,.0f}/s") for mode in MODES}
        paced_states = int(PACED_RATE_PER_S * profile.paced_seconds)
        for round_number in range(profile.runs):
            _progress(f"uplink round {round_number + 1}/{profile.runs}")
            for mode in MODES:
                saturated[mode].runs.append(self.run(mode, profile.messages, None))
            for mode in MODES:
                paced[mode].runs.append(self.run(mode, paced_states, PACED_RATE_PER_S))
        return [*saturated.values(), *paced.values()]

    def measure_raw(self) -> dict[str, list[float]]:
        """Raw baseline rates (states/s) per run: bare client stream and bare acked bidi, 256 per write."""
        messages = self.profile.raw_messages
        rates: dict[str, list[float]] = {"raw cstream b256": [], "raw bidi b256 acked": []}
        for command in ("raw_cstream", "raw_bidi"):  # warm-up
            self.sender.call(command, self.raw_target, 25_600, timeout_s=self.profile.run_timeout_s)
        for _ in range(self.profile.raw_runs):
            for name, command in (("raw cstream b256", "raw_cstream"), ("raw bidi b256 acked", "raw_bidi")):
                seconds = self.sender.call(command, self.raw_target, messages, timeout_s=self.profile.run_timeout_s)
                rates[name].append(messages // BATCH_ITEMS * BATCH_ITEMS / seconds)
        return rates


# ---- part 2 ------------------------------------------------------------------------------------------


def sdk_run(cloud: Peer, sdk: Peer, mode: str, seconds: float) -> SdkResult:
    """One SDK run of `mode` ("managed" or "plain") against the cloud node.

    The achieved rate counts the states stamped inside the measured window that reached the cloud's store
    (by the end of a 0.5 s drain), divided by the window.
    """
    target = f"127.0.0.1:{cloud.info}"
    cloud.call("reset", timeout_s=_COMMAND_TIMEOUT_S)
    run = sdk.call(
        mode, target, SDK_VEHICLES, SDK_RATE_HZ, _SDK_WARMUP_S, seconds, timeout_s=seconds + _SDK_WARMUP_S + 30.0
    )
    time.sleep(0.5)  # states sent at the window's end are still on their way
    # Stamps are whole milliseconds taken after the window's start mark: compare them with whole milliseconds.
    start_ms, end_ms = run["start_ns"] // 1_000_000, run["end_ns"] // 1_000_000
    seen = cloud.call("collect", start_ms, end_ms, timeout_s=_COMMAND_TIMEOUT_S)
    window_s = (run["end_ns"] - run["start_ns"]) / 1e9
    return SdkResult(
        mode=mode,
        offered_per_s=run["offered"] / window_s,
        sent_per_s=run["sent"] / window_s,
        achieved_per_s=seen["states"] / window_s,
        p50_ms=seen["p50_ms"],
        p99_ms=seen["p99_ms"],
        replaced=run["replaced"],
        late_ticks=run["late_ticks"],
        max_lag_ms=run["max_lag_ms"],
        sdk_cores=(run["end_cpu_s"] - run["start_cpu_s"]) / window_s,
        cloud_cores=seen["cpu_s"] / seen["wall_s"],
    )


# ---- outbox alone ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutboxMicro:
    """The product's Outbox alone, in this process: ms per call with `backlog` unbatched rows waiting."""

    index: str
    backlog: int
    append_ms: float
    take_ms: float
    ack_ms: float

    @property
    def states_per_s(self) -> float:
        return BATCH_ITEMS / ((self.append_ms + self.take_ms + self.ack_ms) / 1e3)


def outbox_micro(base_dir: str, backlogs: Sequence[int] = (0, 25_600), batches: int = 60) -> list[OutboxMicro]:
    """append + take_batch + acknowledge of one 256-state row, `batches` times, after `backlog` states queued.

    The outbox as the product creates it: its (batch, safety DESC, seq) index lets take_batch read rows in
    order instead of sorting the whole backlog (before that index a take with 25,600 rows queued cost
    30-49 ms instead of under 1 ms).
    """
    payloads = [state.SerializeToString() for state in vehicle_states(1_000)]
    rows = [
        [
            OutboxRow(
                FIELD,
                True,
                BATCH_ITEMS,
                encode_items(FIELD, [payloads[(b * BATCH_ITEMS + i) % len(payloads)] for i in range(BATCH_ITEMS)]),
            )
        ]
        for b in range(8)
    ]
    results = []
    for desc_index in (False,):
        for backlog in backlogs:
            path = Path(base_dir) / f"micro-{int(desc_index)}-{backlog}.db"
            outbox = Outbox(path, capacity_items=10 * (backlog + batches * BATCH_ITEMS))
            try:
                for index in range(backlog // BATCH_ITEMS):
                    outbox.append(rows[index % len(rows)])
                spent = [0.0, 0.0, 0.0]
                for index in range(batches):
                    t0 = time.perf_counter()
                    outbox.append(rows[index % len(rows)])
                    t1 = time.perf_counter()
                    stored = outbox.take_batch(BATCH_ITEMS)
                    t2 = time.perf_counter()
                    if stored is None:
                        raise RuntimeError("outbox micro: take_batch found nothing")
                    outbox.acknowledge(stored.sequence)
                    t3 = time.perf_counter()
                    spent = [spent[0] + t1 - t0, spent[1] + t2 - t1, spent[2] + t3 - t2]
            finally:
                outbox.close()
                path.unlink(missing_ok=True)
            append_ms, take_ms, ack_ms = (value / batches * 1e3 for value in spent)
            label = "(batch, safety DESC, seq)" if desc_index else "product (batch, safety DESC, seq)"
            results.append(OutboxMicro(label, backlog, append_ms, take_ms, ack_ms))
    return results


# ---- report ------------------------------------------------------------------------------------------


def uplink_table(results: Sequence[UplinkResult], raw_cstream: float) -> str:
    rows: list[list[object]] = [
        [
            "mode",
            "load",
            "states",
            "states/s",
            "spread",
            "vs raw",
            "p50 ms",
            "p99 ms",
            "max ms",
            "sender cores",
            "node cores",
            "sink cores",
            "outbox busy",
            "node backlog",
        ]
    ]
    for result in results:
        rows.append(
            [
                result.mode,
                result.load,
                result.runs[0].states,
                result.rate,
                result.spread,
                result.rate / raw_cstream,
                result.median("p50_ms"),
                result.median("p99_ms"),
                result.median("max_ms"),
                result.median("sender_cores"),
                _or_none(result.median("node_cores")),
                result.median("sink_cores"),
                _or_none(result.median("outbox_busy")),
                _or_none_int(result.median("max_backlog")),
            ]
        )
    return format_table(rows)


def outbox_table(results: Sequence[UplinkResult]) -> str:
    """Durable runs: the outbox disk thread's mean time per call of each method (median over the runs)."""
    names = ("append_many", "acknowledge_and_take")  # what the node calls per group / batch (others: per session)
    header: list[object] = [
        "durable outbox",
        *(f"{name} ms/call" for name in names),
        "calls/run",
        "batches/commit",
        "busy",
    ]
    rows: list[list[object]] = [header]
    for result in results:
        if result.mode != "durable":
            continue
        per_call = [
            median_of(
                [
                    run.node["disk_s"].get(name, 0.0) / max(1, run.node["disk_calls"].get(name, 0)) * 1e3
                    for run in result.runs
                ]
            )
            for name in names
        ]
        calls = median_of([float(sum(run.node["disk_calls"].values())) for run in result.runs])
        per_commit = median_of(
            [run.node.get("inbound_batches", 0) / max(1, run.node.get("inbound_groups", 0)) for run in result.runs]
        )
        rows.append([result.load, *per_call, round(calls), per_commit, result.median("outbox_busy")])
    return format_table(rows)


def micro_table(results: Sequence[OutboxMicro]) -> str:
    rows: list[list[object]] = [
        ["outbox alone: index", "backlog", "append ms", "take_batch ms", "acknowledge ms", "states/s of its thread"]
    ]
    for r in results:
        rows.append([r.index, r.backlog, r.append_ms, r.take_ms, r.ack_ms, r.states_per_s])
    return format_table(rows)


def raw_table(rates: dict[str, list[float]]) -> str:
    rows: list[list[object]] = [["raw baseline", "states/s", "spread"]]
    for name, values in rates.items():
        rate = median_of(values)
        rows.append([name, rate, (max(values) - min(values)) / rate])
    return format_table(rows)


def sdk_table(results: Sequence[SdkResult]) -> str:
    rows: list[list[object]] = [
        [
            "sdk (1,000 vehicles x 10 Hz)",
            "offered/s",
            "sent/s",
            "cloud states/s",
            "kept up",
            "p50 ms",
            "p99 ms",
            "replaced",
            "late ticks",
            "max lag ms",
            "sdk cores",
            "cloud cores",
        ]
    ]
    for r in results:
        rows.append(
            [
                r.mode,
                r.offered_per_s,
                r.sent_per_s,
                r.achieved_per_s,
                "yes" if r.kept_up else "no",
                r.p50_ms,
                r.p99_ms,
                r.replaced,
                r.late_ticks,
                r.max_lag_ms,
                r.sdk_cores,
                r.cloud_cores,
            ]
        )
    return format_table(rows)


def _or_none(value: float) -> float | None:
    return None if math.isnan(value) else value


def _or_none_int(value: float) -> int | None:
    return None if math.isnan(value) else round(value)


def headline(
    results: Sequence[UplinkResult],
    raw: dict[str, list[float]],
    sdk: Sequence[SdkResult],
    micro: Sequence[OutboxMicro],
    profile: Profile,
) -> dict[str, Figure]:
    by = {(result.mode, result.load.split()[0]): result for result in results}
    durable, memory, direct = (by[(mode, "saturated")] for mode in MODES)
    paced = {mode: by[(mode, "paced")] for mode in MODES}
    raw_cstream = median_of(raw["raw cstream b256"])
    managed = next(r for r in sdk if r.mode == "managed")
    plain = next(r for r in sdk if r.mode == "plain")
    ratio = durable.rate / memory.rate

    def ms(value: float) -> float:
        return round(value, 1)

    durable_added = paced["durable"].median("p99_ms") - paced["direct"].median("p99_ms")
    memory_added = paced["memory"].median("p99_ms") - paced["direct"].median("p99_ms")
    return {
        "durable_ratio": round(ratio, 3),
        "states_per_s": round(durable.rate),
        "memory_states_per_s": round(memory.rate),
        "direct_states_per_s": round(direct.rate),
        "durable_ratio_target_met": ratio >= DURABLE_RATIO_TARGET,
        "states_per_s_target_met": durable.rate >= STATES_PER_S_TARGET,
        "paced_per_s": PACED_RATE_PER_S,
        "durable_paced_p99_ms": ms(paced["durable"].median("p99_ms")),
        "memory_paced_p99_ms": ms(paced["memory"].median("p99_ms")),
        "direct_paced_p99_ms": ms(paced["direct"].median("p99_ms")),
        "durable_added_p99_ms": ms(durable_added),
        "memory_added_p99_ms": ms(memory_added),
        "durable_saturated_p99_ms": ms(durable.median("p99_ms")),
        "memory_saturated_p99_ms": ms(memory.median("p99_ms")),
        "durable_outbox_busy": round(durable.median("outbox_busy"), 3),
        "sdk_states_per_s": round(managed.achieved_per_s),
        "sdk_kept_up": managed.kept_up,
        "sdk_plain_states_per_s": round(plain.achieved_per_s),
        "sdk_plain_kept_up": plain.kept_up,
        "raw_b256_per_s": round(raw_cstream),
        "raw_bidi_b256_per_s": round(median_of(raw["raw bidi b256 acked"])),
        "states_ratio_vs_raw_b256": round(durable.rate / raw_cstream, 3),
        **{
            f"outbox_take_ms_{'desc_index_' if r.index.startswith('(') else ''}backlog_{r.backlog}": round(r.take_ms, 3)
            for r in micro
        },
        "messages": profile.messages,
        "runs": profile.runs,
        "grpc": grpc.__version__,
        "protobuf": f"{protobuf_version} {api_implementation.Type()}",
    }


def _progress(text: str) -> None:
    print(f"bench.roadside: {text}", file=sys.stderr, flush=True)


def parse_profile(argv: Sequence[str] | None) -> Profile:
    parser = argparse.ArgumentParser(prog="python -m bench.roadside", description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=DEFAULT.messages, help="states per saturated run")
    parser.add_argument("--runs", type=int, default=DEFAULT.runs, help="runs per mode (the median is reported)")
    parser.add_argument("--paced-seconds", type=float, default=DEFAULT.paced_seconds, help="length of a paced run")
    parser.add_argument("--sdk-seconds", type=float, default=DEFAULT.sdk_seconds, help="measured SDK window")
    args = parser.parse_args(argv)
    if args.messages < 10_000:
        parser.error("--messages must be at least 10000")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if not (0.5 <= args.paced_seconds <= 60 and 1 <= args.sdk_seconds <= 60):
        parser.error("--paced-seconds must be in [0.5, 60] and --sdk-seconds in [1, 60]")
    return Profile(
        args.messages,
        args.paced_seconds,
        args.runs,
        DEFAULT.raw_messages,
        max(args.runs, DEFAULT.raw_runs),
        args.sdk_seconds,
    )


def main(argv: Sequence[str] | None = None) -> int:
    profile = parse_profile(argv)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-roadside-") as base_dir:
        _progress("starting sink, roadside and sender processes")
        specs = [("sink", ()), ("roadside", (base_dir,)), ("sender", ())]
        with spawn_peers(specs, _START_TIMEOUT_S) as (sink, roadside, sender):
            bench = UplinkBench(sink, roadside, sender, profile)
            results = bench.measure()
            _progress("raw baseline")
            raw = bench.measure_raw()
        _progress("outbox alone")
        micro = outbox_micro(base_dir)
    _progress("starting cloud node and SDK processes")
    with spawn_peers([("cloud", ()), ("sdk", ())], _START_TIMEOUT_S) as (cloud, sdk):
        sdk_results = [sdk_run(cloud, sdk, mode, profile.sdk_seconds) for mode in ("managed", "plain")]
    raw_cstream = median_of(raw["raw cstream b256"])
    print(
        f"bench.roadside: {profile.runs} runs per mode, median; {profile.messages:,} states per saturated run; "
        f"{time.perf_counter() - started:.1f} s in all"
    )
    print(uplink_table(results, raw_cstream))
    print()
    print(outbox_table(results))
    print()
    print(micro_table(micro))
    print()
    print(raw_table(raw))
    print()
    print(sdk_table(sdk_results))
    print(headline_line(headline(results, raw, sdk_results, micro, profile)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
