"""Throughput per core of our UPER codecs (`roadlink.codec`): J2735 BSM, SPaT, MAP and SDSM, CSAE 53 BSM, RSM,
SPAT and MAP, ETSI CAM and DENM, on real captures where there are any.

Same-run baselines: upb (the v1 protobuf) for the BSM, pycrate for SPaT, MAP, CAM and DENM (the schemas pycrate
ships); CSAE has none (pycrate has no CSAE schema, and its ASN.1 may not be shipped).

Run: `python -m bench.codec [--quick|--full] [--runs R] [--seconds S]` from the repository root (quick is the
default: 5 runs of about 0.2 s CPU per mode, about 60-80 s in all on 2 shared cores; full: 7 x 0.8 s, about 5 min).

Data: the two real J2735 BSM capture sets in tests/data/j2735, measured separately since their frames differ:
- `stream128`: j2735.MessageFrame.128.bsms.uper, 128 MessageFrames back to back (73 B or 177 B: core data plus
  one or 15 path-history points), split into frames once with `split_frames`;
- `log222`: bsmLogDuringEvent.bin, the 222 frames of the jpo-ode on-board-unit log (188 B each, with
  SupplementalVehicleExtensions), taken out of their record header and IEEE 1609.2 wrapper once, each mapped
  with its own record time as the reference clock.
Before anything is timed, every frame must decode, re-encode to its exact bytes and map to a VehicleState.

Modes, one pass over every frame of a set each (one thread; rates are frames per CPU second of that thread,
i.e. per core, so that other load on a shared machine is not counted as our cost):
- `decode`: `decode_frame(bytes)`;  `encode`: `encode_frame(decoded frame)`;
- `decode+map`: `frame_to_vehicle_state(decode_frame(bytes), reference)`, the air-side ingest;
- `decode+map+v1`: the same + `vehicle_state_to_proto` + SerializeToString, what the gateway forwards;
- `split stream` (stream128 only): `split_frames` over the whole 16,000-byte stream;
- baselines measured in the same run, on the v1 VehicleState protobuf (upb) of the same frames as the
  mapping produces them: `upb parse` (VehicleState.FromString) and `upb parse+from_proto`
  (+ `vehicle_state_from_proto`, the same bytes -> domain VehicleState step as `decode+map`);
- SPaT and MAP against pycrate, on the same messages in the same run: `spat3` (the three distinct real SPaT
  frames: CARMA SPaT_1, SPaT_2 and the jpo-ode frame, 28-103 B) and `map5` (CARMA MAP_1..MAP_4 and the jpo-ode
  MAP, 62-965 B). Ours: `decode` = `decode_frame(frame bytes)` (MessageFrame header + SPAT/MapData into plain
  Python values), `encode` = `encode_frame(decoded frame)`. pycrate (pycrate_asn1dir.ITS_IS, the ISO TS 19091
  module J2735 shares; it has no J2735 MessageFrame, so it gets the frame's open-type content, less work than
  ours): `pycrate decode` = `from_uper(content)` + `get_val()`, `pycrate encode` = `set_val(value)` + `to_uper()`.
  Before timing, pycrate must decode and re-encode every content to its bytes. Each ratio is also reported.
- `sdsm1` (J2735 SDSM, the US counterpart of the CSAE RSM): the jpo-ode SDSM frame (40 B, one detected object);
  `decode`, `encode` and `decode+map` (+ `frame_to_perception`, the v1 PerceptionFrame).
- CSAE 53 and ETSI, from `bench.codec_standards` (its docstring has the details): `csae_bsm` (2 real frames),
  `csae_rsm` (the real RSM, 40 B), `csae_spat`, `csae_map` (real, 261 B and 529 B): `decode`, `encode`,
  `decode+map` (+ the v1 mapping); `cam` (the synthetic ETSI CAM of tests/data/etsi, 41 B) and `denm` (a DENM
  built there, 60 B): `decode`, `encode` of ours (`etsi.CAM` / `etsi.DENM`) and pycrate's (`pycrate_asn1dir`
  ITS_CAM_2 / ITS_DENM_3, `from_uper` + `get_val`, `set_val` + `to_uper`) on the same bytes, and the CAM's
  `decode+map` (-> VehicleState).
`speedup_vs_pycrate_min` is the lowest of our rate / pycrate's over (SPaT, MAP, CAM, DENM) x (decode, encode).

Runs are interleaved (mode A, B, C, A, B, C, ...) after one warm-up pass per mode, which also sizes each run to
about `--seconds` of CPU time; each figure is the median over the runs, and `spread` is (max - min) / median of
the rates. The last line is one JSON object of headline figures (see `headline`).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import importlib.metadata
import platform
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import __version__ as protobuf_version
from google.protobuf.internal import api_implementation
from v2x.vehicle.v1 import vehicle_pb2

from bench import codec_standards
from bench.report import Figure, format_table, headline_line, median_of
from roadlink.codec import decode_frame, encode_frame, frame_to_vehicle_state, split_frames
from roadlink.codec.j2735 import MESSAGES, MessageFrame
from roadlink.codec.j2735_perception import frame_to_perception
from roadlink.wire.convert import vehicle_state_from_proto, vehicle_state_to_proto
from tests.codec import captures

__all__ = ["main"]

BSM_DECODE_TARGET_PER_S = 20_000
"""Issue 7: at least 20,000 BSM decodes/s per core."""

STREAM_REFERENCE_UNIX_MS = 1_500_000_000_000
"""Reference clock for the stream's secMarks (it carries no receive time; any value maps at the same cost)."""

SDSM_REFERENCE_UNIX_MS = 1_732_665_201_120
"""Reference clock of the SDSM capture (2024-11-26T23:53:21.120Z, its odeReceivedAt)."""

SPEEDUP_TARGET = 3.0
"""Issue 7: SPaT / MAP / CAM at least 3x faster than pycrate."""

PYCRATE_SETS = ("spat3", "map5", "cam", "denm")
"""The data sets measured against pycrate in the same run."""

SHORT_NAMES = {"csae_rsm": "rsm", "sdsm1": "sdsm", "spat3": "spat", "map5": "map"}
"""Data set -> the message name its headline figures carry (the J2735 sets, and the CSAE RSM the issue names)."""

STANDARDS_BATCH = 16
"""Messages per pass of a bench.codec_standards mode (at least): keeps the per-pass call out of the rates."""

Pass = Callable[[], int]


@dataclass(frozen=True, slots=True)
class Profile:
    """Runs per mode, the CPU seconds one run aims at, and the least CPU seconds of the warm-up that sizes a run."""

    runs: int
    run_seconds: float
    probe_seconds: float = 0.05


QUICK = Profile(runs=5, run_seconds=0.2)
FULL = Profile(runs=7, run_seconds=0.8)


@dataclass(frozen=True, slots=True)
class Mode:
    """One measured operation: `one_pass` handles every item of its set once and returns how many it handled."""

    name: str
    data: str
    mean_bytes: float
    one_pass: Pass


@dataclass(slots=True)
class Result:
    """The runs of one mode: items handled and CPU seconds per run."""

    mode: Mode
    passes: int = 1
    items: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    @property
    def rates(self) -> list[float]:
        return [n / s for n, s in zip(self.items, self.seconds, strict=True)]

    @property
    def rate(self) -> float:
        return median_of(self.rates)

    @property
    def spread(self) -> float:
        return (max(self.rates) - min(self.rates)) / self.rate


# ---- data --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CaptureSet:
    """The frames of one capture set, their decodes, and the reference clock each maps with."""

    name: str
    frames: tuple[bytes, ...]
    references_ms: tuple[int, ...]
    decoded: tuple[dict[str, Any], ...]

    @property
    def mean_bytes(self) -> float:
        return sum(map(len, self.frames)) / len(self.frames)


def stream_frames() -> tuple[bytes, list[bytes]]:
    """The 128-BSM stream and its frames as byte strings (cut where `split_frames` says each one starts)."""
    data = captures.read("j2735.MessageFrame.128.bsms.uper")
    starts = [offset for offset, _ in split_frames(data)]
    return data, [data[start:end] for start, end in zip(starts, [*starts[1:], len(data)], strict=True)]


def capture_set(name: str, frames: Sequence[bytes], references_ms: Sequence[int]) -> CaptureSet:
    """Decode every frame and check it re-encodes to its bytes and maps to a VehicleState (or raise)."""
    decoded = tuple(decode_frame(frame) for frame in frames)
    for index, (frame, value, reference) in enumerate(zip(frames, decoded, references_ms, strict=True)):
        if encode_frame(value) != frame:
            raise RuntimeError(f"{name}[{index}]: re-encoding does not reproduce the frame")
        frame_to_vehicle_state(value, reference)
    return CaptureSet(name, tuple(frames), tuple(references_ms), decoded)


def load_sets() -> tuple[bytes, list[CaptureSet]]:
    """The stream's bytes and the two capture sets."""
    stream, frames = stream_frames()
    records = captures.log_records()
    return stream, [
        capture_set("stream128", frames, [STREAM_REFERENCE_UNIX_MS] * len(frames)),
        capture_set("log222", [r.frame for r in records], [r.utc_ms for r in records]),
    ]


# ---- modes -------------------------------------------------------------------------------------------------------


def codec_modes(cs: CaptureSet) -> list[Mode]:
    """Our codec on one capture set, and the upb baselines on the same frames' v1 VehicleStates."""
    frames, decoded = cs.frames, cs.decoded
    pairs = tuple(zip(frames, cs.references_ms, strict=True))
    states = [frame_to_vehicle_state(value, ref) for value, ref in zip(decoded, cs.references_ms, strict=True)]
    blobs = tuple(vehicle_state_to_proto(state).SerializeToString() for state in states)
    parse = vehicle_pb2.VehicleState.FromString

    def decode() -> int:
        for frame in frames:
            decode_frame(frame)
        return len(frames)

    def encode() -> int:
        for value in decoded:
            encode_frame(value)
        return len(decoded)

    def decode_map() -> int:
        for frame, ref in pairs:
            frame_to_vehicle_state(decode_frame(frame), ref)
        return len(pairs)

    def decode_map_v1() -> int:
        for frame, ref in pairs:
            vehicle_state_to_proto(frame_to_vehicle_state(decode_frame(frame), ref)).SerializeToString()
        return len(pairs)

    def upb_parse() -> int:
        for blob in blobs:
            parse(blob)
        return len(blobs)

    def upb_parse_domain() -> int:
        for blob in blobs:
            vehicle_state_from_proto(parse(blob))
        return len(blobs)

    v1_bytes = sum(map(len, blobs)) / len(blobs)
    return [
        Mode("decode", cs.name, cs.mean_bytes, decode),
        Mode("encode", cs.name, cs.mean_bytes, encode),
        Mode("decode+map", cs.name, cs.mean_bytes, decode_map),
        Mode("decode+map+v1", cs.name, cs.mean_bytes, decode_map_v1),
        Mode("upb parse", cs.name, v1_bytes, upb_parse),
        Mode("upb parse+from_proto", cs.name, v1_bytes, upb_parse_domain),
    ]


def split_mode(stream: bytes, frame_count: int) -> Mode:
    def split() -> int:
        split_frames(stream)
        return frame_count

    return Mode("split stream", "stream128", len(stream) / frame_count, split)


def _ode_frame(name: str) -> bytes:
    """The frame of a jpo-ode decoder-output-*.xml (`metadata/asn1`, less what follows the frame)."""
    root = ET.parse(captures.DATA / name).getroot()
    payload = bytes.fromhex("".join(root.findtext("metadata/asn1", "").split()))
    _, used = MessageFrame.decode_prefix(payload)
    return payload[:used]


def intersection_frames() -> dict[str, list[bytes]]:
    """The real SPaT and MAP frames, one list per set (each frame once)."""
    return {
        "spat3": [captures.carma_hex("SPaT_1"), captures.carma_hex("SPaT_2"), _ode_frame("decoder-output-spat.xml")],
        "map5": [captures.carma_hex(f"MAP_{i}") for i in range(1, 5)] + [_ode_frame("decoder-output-map.xml")],
    }


def intersection_modes(name: str, frames: Sequence[bytes], pycrate_type: Any) -> list[Mode]:
    """Our decode / encode of the frames and, when `pycrate_type` is given, pycrate's of their contents."""
    decoded = [decode_frame(frame) for frame in frames]
    if [encode_frame(value) for value in decoded] != list(frames):
        raise RuntimeError(f"{name}: re-encoding does not reproduce the frames")
    size = sum(map(len, frames)) / len(frames)

    def decode() -> int:
        for frame in frames:
            decode_frame(frame)
        return len(frames)

    def encode() -> int:
        for value in decoded:
            encode_frame(value)
        return len(decoded)

    modes = [Mode("decode", name, size, decode), Mode("encode", name, size, encode)]
    if pycrate_type is None:
        return modes
    contents = [bytes(MESSAGES[value["messageId"]].encode(value["value"])) for value in decoded]
    values = []
    for content in contents:
        pycrate_type.from_uper(content)
        values.append(pycrate_type.get_val())
        pycrate_type.set_val(values[-1])
        if pycrate_type.to_uper() != content:
            raise RuntimeError(f"{name}: pycrate does not re-encode a content to its bytes")

    def pycrate_decode() -> int:
        for content in contents:
            pycrate_type.from_uper(content)
            pycrate_type.get_val()
        return len(contents)

    def pycrate_encode() -> int:
        for value in values:
            pycrate_type.set_val(value)
            pycrate_type.to_uper()
        return len(values)

    return [
        *modes,
        Mode("pycrate decode", name, size, pycrate_decode),
        Mode("pycrate encode", name, size, pycrate_encode),
    ]


def pycrate_intersection_types() -> dict[str, Any]:
    """pycrate's ISO TS 19091 SPAT and MapData types by set name (pycrate is a project dependency)."""
    dsrc: Any = importlib.import_module("pycrate_asn1dir.ITS_IS").DSRC
    return {"spat3": dsrc.SPAT, "map5": dsrc.MapData}


def sdsm_modes() -> list[Mode]:
    """Our decode, encode and decode+map (-> PerceptionFrame) of the real J2735 SDSM."""
    frame = _ode_frame("decoder-output-sdsm.xml")
    frame_to_perception(decode_frame(frame), SDSM_REFERENCE_UNIX_MS)  # must map before it is timed

    def decode_map() -> int:
        frame_to_perception(decode_frame(frame), SDSM_REFERENCE_UNIX_MS)
        return 1

    return [*intersection_modes("sdsm1", [frame], None), Mode("decode+map", "sdsm1", len(frame), decode_map)]


def adapted(mode: codec_standards.Mode) -> Mode:
    """A bench.codec_standards mode as one of ours: repeated to at least `STANDARDS_BATCH` messages per pass."""
    batch = max(1, STANDARDS_BATCH // mode.count)
    call, items = mode.one_pass, batch * mode.count

    def one_pass() -> int:
        for _ in range(batch):
            call()
        return items

    return Mode(mode.name, mode.data, mode.mean_bytes, one_pass)


def standards_modes() -> list[Mode]:
    """The CSAE 53 and ETSI modes of bench.codec_standards (each checked to re-encode its bytes when built)."""
    return [adapted(mode) for mode in (*codec_standards.csae_modes(), *codec_standards.etsi_modes())]


# ---- measurement -------------------------------------------------------------------------------------------------


def timed(one_pass: Pass, passes: int) -> tuple[int, float]:
    """Items handled and thread CPU seconds for `passes` passes."""
    gc.collect()
    items = 0
    started = time.thread_time()
    for _ in range(passes):
        items += one_pass()
    return items, time.thread_time() - started


def run_modes(modes: Sequence[Mode], profile: Profile) -> list[Result]:
    """One warm-up per mode (sizing its runs to about `profile.run_seconds`), then interleaved measured runs."""
    results = []
    for mode in modes:
        passes, (_, seconds) = 1, timed(mode.one_pass, 1)
        while seconds < profile.probe_seconds:  # enough passes for a measurable time to size the runs from
            passes *= 2
            _, seconds = timed(mode.one_pass, passes)
        results.append(Result(mode, passes=max(1, round(profile.run_seconds * passes / max(seconds, 1e-9)))))
    for _ in range(profile.runs):
        for result in results:
            items, seconds = timed(result.mode.one_pass, result.passes)
            result.items.append(items)
            result.seconds.append(seconds)
    return results


# ---- report ------------------------------------------------------------------------------------------------------


def rate_of(results: Sequence[Result], name: str, data: str) -> float:
    return next(r.rate for r in results if r.mode.name == name and r.mode.data == data)


def baseline_ratio(results: Sequence[Result], result: Result) -> tuple[float | None, str | None]:
    """This rate / its same-run baseline's: `upb parse` for the BSM sets, pycrate's same operation where it has one."""
    name, data = result.mode.name, result.mode.data
    names = {r.mode.name for r in results if r.mode.data == data}
    if "upb parse" in names:
        return result.rate / rate_of(results, "upb parse", data), "upb parse"
    if f"pycrate {name}" in names:
        return result.rate / rate_of(results, f"pycrate {name}", data), f"pycrate {name}"
    return None, None


def table(results: Sequence[Result]) -> str:
    rows: list[list[object]] = [
        ["mode", "data", "bytes/msg", "msgs/run", "us/msg", "msgs/s per core", "spread", "ratio vs", "baseline"]
    ]
    for result in results:
        ratio, baseline = baseline_ratio(results, result)
        rows.append(
            [
                result.mode.name,
                result.mode.data,
                round(result.mode.mean_bytes),
                round(median_of(result.items)),
                1e6 / result.rate,
                result.rate,
                result.spread,
                ratio,
                baseline,
            ]
        )
    return format_table(rows)


def speedups(results: Sequence[Result]) -> dict[str, float]:
    """Our rate / pycrate's on the same SPaT, MAP, CAM and DENM messages, per set and operation."""
    out: dict[str, float] = {}
    for name in PYCRATE_SETS:
        for op in ("decode", "encode"):
            if any(r.mode.name == f"pycrate {op}" and r.mode.data == name for r in results):
                ours, theirs = rate_of(results, op, name), rate_of(results, f"pycrate {op}", name)
                out[f"{SHORT_NAMES.get(name, name)}_{op}"] = ours / theirs
    return out


def per_message_figures(results: Sequence[Result]) -> dict[str, Figure]:
    """Rates of every message type besides the J2735 BSM, with short names for the issue's list (RSM, CAM).

    `rsm_*` is the CSAE RSM (the message the issue names); the J2735 SDSM, its US counterpart, is `sdsm_*`.
    """
    figures: dict[str, Figure] = {}
    for data in dict.fromkeys(r.mode.data for r in results):
        if data in ("stream128", "log222"):
            continue
        key = SHORT_NAMES.get(data, data)
        for result in (r for r in results if r.mode.data == data):
            op = result.mode.name.replace("+", "_").replace(" ", "_")
            if op.startswith("pycrate_"):
                op = op.removeprefix("pycrate_")
                figures[f"{key}_pycrate_{op}_per_s"] = round(result.rate)
            else:
                figures[f"{key}_{op}_per_s"] = round(result.rate)
    return figures


def headline(results: Sequence[Result], sets: Sequence[CaptureSet], profile: Profile) -> dict[str, Figure]:
    """Headline figures: the BSM ones are the lower of the two capture sets, with each set's own figure too."""
    names = [cs.name for cs in sets]

    def per_set(mode: str) -> dict[str, float]:
        return {name: rate_of(results, mode, name) for name in names}

    decode, encode, decode_map = per_set("decode"), per_set("encode"), per_set("decode+map")
    decode_map_v1, upb = per_set("decode+map+v1"), per_set("upb parse")
    upb_domain = per_set("upb parse+from_proto")
    figures: dict[str, Figure] = {
        "bsm_decode_per_s": round(min(decode.values())),
        "bsm_encode_per_s": round(min(encode.values())),
        "bsm_decode_map_per_s": round(min(decode_map.values())),
        "bsm_decode_target_per_s": BSM_DECODE_TARGET_PER_S,
        "bsm_decode_target_met": min(decode.values()) >= BSM_DECODE_TARGET_PER_S,
    }
    ratios = speedups(results)
    figures |= {
        "speedup_vs_pycrate_min": round(min(ratios.values()), 2),
        "speedup_vs_pycrate_min_of": min(ratios, key=ratios.__getitem__),
        "speedup_target": SPEEDUP_TARGET,
        "speedup_target_met": min(ratios.values()) >= SPEEDUP_TARGET,
    }
    for key, ratio in ratios.items():
        figures[f"{key}_speedup_vs_pycrate"] = round(ratio, 2)
    figures |= per_message_figures(results)
    for name in names:
        figures |= {
            f"{name}_decode_per_s": round(decode[name]),
            f"{name}_encode_per_s": round(encode[name]),
            f"{name}_decode_map_per_s": round(decode_map[name]),
            f"{name}_decode_map_v1_per_s": round(decode_map_v1[name]),
            f"{name}_upb_parse_per_s": round(upb[name]),
            f"{name}_decode_ratio_vs_upb_parse": round(decode[name] / upb[name], 4),
            f"{name}_decode_map_ratio_vs_upb_parse_from_proto": round(decode_map[name] / upb_domain[name], 3),
        }
    figures["stream128_split_per_s"] = round(rate_of(results, "split stream", "stream128"))
    figures |= {
        "runs": profile.runs,
        "run_seconds": profile.run_seconds,
        "clock": "thread CPU time",
        "python": platform.python_version(),
        "protobuf": f"{protobuf_version} {api_implementation.Type()}",
        "pycrate": importlib.metadata.version("pycrate"),
    }
    return figures


def parse_profile(argv: Sequence[str] | None) -> Profile:
    parser = argparse.ArgumentParser(prog="python -m bench.codec", description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="the default: 5 runs of about 0.2 s per mode")
    size.add_argument("--full", action="store_true", help="7 runs of about 0.8 s per mode")
    parser.add_argument("--runs", type=int, help="runs per mode (the median is reported)")
    parser.add_argument("--seconds", type=float, help="CPU seconds one run of a mode aims at")
    args = parser.parse_args(argv)
    profile = FULL if args.full else QUICK
    if args.runs is not None:
        if args.runs < 1:
            parser.error("--runs must be at least 1")
        profile = Profile(args.runs, profile.run_seconds)
    if args.seconds is not None:
        if not 0.01 <= args.seconds <= 10:
            parser.error("--seconds must be within 0.01..10")
        profile = Profile(profile.runs, args.seconds)
    return profile


def all_modes() -> tuple[list[Mode], list[CaptureSet]]:
    """Every mode, built and checked (each message re-encodes to its bytes), and the two BSM capture sets."""
    stream, sets = load_sets()
    modes = [mode for cs in sets for mode in codec_modes(cs)]
    pycrate_types = pycrate_intersection_types()
    for name, frames in intersection_frames().items():
        modes += intersection_modes(name, frames, pycrate_types[name])
    modes += [*sdsm_modes(), *standards_modes(), split_mode(stream, len(sets[0].frames))]
    return modes, sets


def measure(profile: Profile) -> tuple[list[Result], dict[str, Figure]]:
    """Run every mode under `profile`: the results in table order and the headline figures (with `wall_seconds`)."""
    started = time.perf_counter()
    modes, sets = all_modes()
    results = run_modes(modes, profile)
    figures = headline(results, sets, profile)
    figures["wall_seconds"] = round(time.perf_counter() - started, 1)
    return results, figures


def main(argv: Sequence[str] | None = None) -> int:
    profile = parse_profile(argv)
    results, figures = measure(profile)
    print(
        f"bench.codec: {profile.runs} runs per mode, median, per core (thread CPU time); "
        f"{figures['wall_seconds']} s in all"
    )
    print(table(results))
    print(headline_line(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
