"""Throughput of the J2735 UPER codec (`roadlink.codec`) per core on real BSM, SPaT and MAP captures.

Same-run baselines: upb (the v1 protobuf) for the BSM, pycrate for SPaT and MAP.

Run: `python -m bench.codec [--quick|--full] [--runs R] [--seconds S]` from the repository root (quick is the
default and takes about 40 s of CPU time on 2 shared cores; full about 90 s).

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
  Before timing, pycrate must decode and re-encode every content to its bytes. `speedup_vs_pycrate_min` is the
  lowest of our rate / pycrate's rate over (SPaT, MAP) x (decode, encode); each ratio is also reported.
- pycrate's ETSI CAM decode and encode of the synthetic CAM in ../shared/interop/etsi/synthetic
  (pycrate_asn1dir.ITS_CAM_2) as context: our codec has no CAM description yet.
pycrate is no project dependency; without it the pycrate figures and the speedup are null.

Runs are interleaved (mode A, B, C, A, B, C, ...) after one warm-up pass per mode, which also sizes each run to
about `--seconds` of CPU time; each figure is the median over the runs, and `spread` is (max - min) / median of
the rates. The last line is one JSON object of headline figures (see `headline`).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import importlib.metadata
import importlib.util
import json
import platform
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf import __version__ as protobuf_version
from google.protobuf.internal import api_implementation
from v2x.vehicle.v1 import vehicle_pb2

from bench.report import Figure, format_table, headline_line, median_of
from roadlink.codec import decode_frame, encode_frame, frame_to_vehicle_state, split_frames
from roadlink.codec.j2735 import MESSAGES, MessageFrame
from roadlink.wire.convert import vehicle_state_from_proto, vehicle_state_to_proto
from tests.codec import captures

__all__ = ["main"]

BSM_DECODE_TARGET_PER_S = 20_000
"""Issue 7: at least 20,000 BSM decodes/s per core."""

STREAM_REFERENCE_UNIX_MS = 1_500_000_000_000
"""Reference clock for the stream's secMarks (it carries no receive time; any value maps at the same cost)."""

ETSI_VECTORS = Path(__file__).resolve().parent.parent.parent / "shared" / "interop" / "etsi" / "synthetic"
ETSI_VECTORS_FILE = ETSI_VECTORS / "etsi_vectors.json"
CAM_VECTOR = "cam_en302637-2_v1.4.1_passenger_car"

SPEEDUP_TARGET = 3.0
"""Issue 7: SPaT / MAP / CAM at least 3x faster than pycrate."""

INTERSECTION_SETS = ("spat3", "map5")

Pass = Callable[[], int]


@dataclass(frozen=True, slots=True)
class Profile:
    """Runs per mode and the CPU seconds one run aims at."""

    runs: int
    run_seconds: float


QUICK = Profile(runs=5, run_seconds=0.4)
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
    """pycrate's ISO TS 19091 SPAT and MapData types by set name (empty when pycrate is not installed)."""
    if importlib.util.find_spec("pycrate_asn1dir") is None:
        return {}
    dsrc: Any = importlib.import_module("pycrate_asn1dir.ITS_IS").DSRC
    return {"spat3": dsrc.SPAT, "map5": dsrc.MapData}


@dataclass(frozen=True, slots=True)
class Pycrate:
    """pycrate's CAM modes, or why there are none; `version` is the installed pycrate's."""

    modes: list[Mode]
    version: str | None
    reason: str | None


def pycrate_modes() -> Pycrate:
    """pycrate decoding and encoding the synthetic ETSI CAM, when pycrate and the vector are there."""
    if importlib.util.find_spec("pycrate_asn1dir") is None:
        return Pycrate([], None, "pycrate is not installed (it is no project dependency: pip install pycrate)")
    if not ETSI_VECTORS_FILE.is_file():
        return Pycrate([], None, f"{ETSI_VECTORS_FILE} is missing")
    vectors = json.loads(ETSI_VECTORS_FILE.read_text())["vectors"]
    cams = [bytes.fromhex(v["uper_hex"]) for v in vectors if v["name"] == CAM_VECTOR]
    if not cams:
        return Pycrate([], None, f"{ETSI_VECTORS_FILE} has no vector {CAM_VECTOR}")
    cam_bytes = cams[0]
    cam: Any = importlib.import_module("pycrate_asn1dir.ITS_CAM_2").CAM_PDU_Descriptions.CAM
    cam.from_uper(cam_bytes)
    cam_value = cam.get_val()
    cam.set_val(cam_value)
    if cam.to_uper() != cam_bytes:
        raise RuntimeError("pycrate does not re-encode the synthetic CAM to its bytes")
    batch = 16

    def decode() -> int:
        for _ in range(batch):
            cam.from_uper(cam_bytes)
            cam.get_val()
        return batch

    def encode() -> int:
        for _ in range(batch):
            cam.set_val(cam_value)
            cam.to_uper()
        return batch

    size = float(len(cam_bytes))
    modes = [Mode("pycrate CAM decode", "etsi CAM", size, decode), Mode("pycrate CAM encode", "etsi CAM", size, encode)]
    return Pycrate(modes, importlib.metadata.version("pycrate"), None)


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
        while seconds < 0.05:  # enough passes for a measurable time to size the runs from
            passes *= 2
            _, seconds = timed(mode.one_pass, passes)
        results.append(Result(mode, passes=max(1, round(profile.run_seconds * passes / seconds))))
    for _ in range(profile.runs):
        for result in results:
            items, seconds = timed(result.mode.one_pass, result.passes)
            result.items.append(items)
            result.seconds.append(seconds)
    return results


# ---- report ------------------------------------------------------------------------------------------------------


def rate_of(results: Sequence[Result], name: str, data: str) -> float:
    return next(r.rate for r in results if r.mode.name == name and r.mode.data == data)


def table(results: Sequence[Result]) -> str:
    rows: list[list[object]] = [
        ["mode", "data", "bytes/msg", "msgs/run", "us/msg", "msgs/s per core", "spread", "ratio vs upb parse"]
    ]
    for result in results:
        data = result.mode.data
        has_upb = any(r.mode.name == "upb parse" and r.mode.data == data for r in results)
        ratio = result.rate / rate_of(results, "upb parse", data) if has_upb else None
        rows.append(
            [
                result.mode.name,
                data,
                round(result.mode.mean_bytes),
                round(median_of(result.items)),
                1e6 / result.rate,
                result.rate,
                result.spread,
                ratio,
            ]
        )
    return format_table(rows)


def speedups(results: Sequence[Result]) -> dict[str, float]:
    """Our rate / pycrate's on the same SPaT and MAP frames, per set and operation (empty without pycrate)."""
    out: dict[str, float] = {}
    for name in INTERSECTION_SETS:
        for op in ("decode", "encode"):
            if any(r.mode.name == f"pycrate {op}" and r.mode.data == name for r in results):
                out[f"{name}_{op}"] = rate_of(results, op, name) / rate_of(results, f"pycrate {op}", name)
    return out


def headline(
    results: Sequence[Result], sets: Sequence[CaptureSet], pycrate: Pycrate, profile: Profile
) -> dict[str, Figure]:
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
        "speedup_vs_pycrate_min": round(min(ratios.values()), 2) if ratios else None,
        "speedup_target": SPEEDUP_TARGET,
        "speedup_target_met": min(ratios.values()) >= SPEEDUP_TARGET if ratios else None,
    }
    for key, ratio in ratios.items():
        figures[f"{key}_speedup_vs_pycrate"] = round(ratio, 2)
    for name in INTERSECTION_SETS:
        for op in ("decode", "encode"):
            figures[f"{name}_{op}_per_s"] = round(rate_of(results, op, name))
            pyc = [r.rate for r in results if r.mode.name == f"pycrate {op}" and r.mode.data == name]
            figures[f"{name}_pycrate_{op}_per_s"] = round(pyc[0]) if pyc else None
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
    if pycrate.modes:
        cam_decode = rate_of(results, "pycrate CAM decode", "etsi CAM")
        figures |= {
            "pycrate_cam_decode_per_s": round(cam_decode),
            "pycrate_cam_encode_per_s": round(rate_of(results, "pycrate CAM encode", "etsi CAM")),
            "bsm_decode_over_pycrate_cam_decode": round(min(decode.values()) / cam_decode, 2),
        }
    else:
        figures |= {
            "pycrate_cam_decode_per_s": None,
            "pycrate_cam_encode_per_s": None,
            "bsm_decode_over_pycrate_cam_decode": None,
        }
    figures |= {
        "runs": profile.runs,
        "run_seconds": profile.run_seconds,
        "clock": "thread CPU time",
        "python": platform.python_version(),
        "protobuf": f"{protobuf_version} {api_implementation.Type()}",
        "pycrate": pycrate.version,
    }
    return figures


def parse_profile(argv: Sequence[str] | None) -> Profile:
    parser = argparse.ArgumentParser(prog="python -m bench.codec", description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="the default: 5 runs of about 0.4 s per mode")
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


def main(argv: Sequence[str] | None = None) -> int:
    profile = parse_profile(argv)
    started = time.perf_counter()
    stream, sets = load_sets()
    pycrate = pycrate_modes()
    modes = [mode for cs in sets for mode in codec_modes(cs)]
    pycrate_types = pycrate_intersection_types()
    for name, frames in intersection_frames().items():
        modes += intersection_modes(name, frames, pycrate_types.get(name))
    modes += [split_mode(stream, len(sets[0].frames)), *pycrate.modes]
    results = run_modes(modes, profile)
    print(
        f"bench.codec: {profile.runs} runs per mode, median, per core (thread CPU time); "
        f"{time.perf_counter() - started:.1f} s in all"
    )
    print(table(results))
    if pycrate.reason is not None:
        print(f"pycrate: {pycrate.reason}")
    print(headline_line(headline(results, sets, pycrate, profile)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
