"""Throughput per core of the CSAE 53 and ETSI codecs (`roadlink.codec.csae`, `roadlink.codec.etsi`), ETSI vs pycrate.

Run: `python -m bench.codec_standards [--runs R] [--seconds S]` from the repository root (defaults: 5 runs of
about 0.2 s CPU per mode, some 15 s in all). `measure(runs, seconds)` is the same as a function; `python -m
bench.codec` runs `csae_modes()` and `etsi_modes()` interleaved with its J2735 modes, in its table and last line.

Data (checked before anything is timed: every frame decodes and re-encodes to its exact bytes):
- CSAE: the real frames of tests/data/csae (2 BSMs of 53 and 86 B, the RSM of 40 B, the SPAT of 261 B, the MAP of
  529 B). Modes: `decode` = `csae.decode_frame(bytes)`, `encode` = `csae.encode_frame(decoded)`, `decode+map` =
  decode + the v1 mapping (BSM -> VehicleState, RSM -> PerceptionFrame, SPAT -> SignalPhaseAndTiming, MAP ->
  v1 MapData). pycrate has no CSAE schema (and the CSAE ASN.1 may not be shipped), so CSAE has no baseline.
- ETSI: the synthetic CAM of tests/data/etsi (41 B) and a DENM built here (stationary vehicle, one 2-point trace).
  Ours: `decode` = `etsi.CAM.decode(bytes)` / DENM, `encode`; pycrate, same messages, same run:
  `pycrate decode` = `from_uper` + `get_val`, `pycrate encode` = `set_val` + `to_uper` (pycrate_asn1dir
  ITS_CAM_2 / ITS_DENM_3, the modules our ETSI types are translated from).

Rates are messages per CPU second of the measuring thread (`time.thread_time`), i.e. per core, so other load on
a shared machine is not counted as ours. Runs are interleaved over the modes after one warm-up pass that sizes
each run to about `seconds`; each figure is the median of the runs. The last line printed is one JSON object:
per-mode rates, `speedup_*` ratios (ours / pycrate) and `speedup_vs_pycrate_min`, their minimum.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from roadlink.codec import csae, etsi
from roadlink.codec.csae_infrastructure import map_to_proto
from roadlink.codec.csae_mapping import bsm_to_vehicle_state, rsm_to_perception_frame, spat_to_signals
from roadlink.codec.etsi_mapping import cam_to_vehicle_state, unix_ms_to_timestamp_its

__all__ = ["Mode", "main", "measure"]

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
REFERENCE_MS = 1_668_495_310_000
"""A reference clock near the CSAE captures' minute of the year (2022-11-15)."""


@dataclass(frozen=True)
class Mode:
    """One timed operation over `count` messages per pass; `mean_bytes` is their mean UPER size in bytes."""

    name: str
    data: str
    count: int
    one_pass: Callable[[], object]
    mean_bytes: float


def _csae_frames() -> dict[str, list[bytes]]:
    frames: dict[str, list[bytes]] = {}
    for frame in json.loads((DATA / "csae" / "decoded_frames.json").read_text())["frames"]:
        frames.setdefault(frame["sample"], []).append(bytes.fromhex(frame["uper_hex"]))
    return frames


_CSAE_MAPS: dict[str, Callable[[Any], object]] = {
    "BSM": lambda v: bsm_to_vehicle_state(v[1], REFERENCE_MS),
    "RSM": lambda v: rsm_to_perception_frame(v[1], REFERENCE_MS),
    "SPAT": lambda v: spat_to_signals(v[1], REFERENCE_MS),
    "MAP": lambda v: map_to_proto(v[1], REFERENCE_MS),
}


def _decode_all(frames: Sequence[bytes]) -> list[Any]:
    return [csae.decode_frame(f) for f in frames]


def _encode_all(values: Sequence[Any]) -> list[bytes]:
    return [csae.encode_frame(v) for v in values]


def _decode_map_all(frames: Sequence[bytes], mapper: Callable[[Any], object]) -> list[object]:
    return [mapper(csae.decode_frame(f)) for f in frames]


def csae_modes() -> list[Mode]:
    """decode, encode and decode+map of each CSAE message type over its real frames."""
    modes = []
    for name, frames in sorted(_csae_frames().items()):
        if name not in _CSAE_MAPS:
            continue
        decoded = [csae.decode_frame(f) for f in frames]
        if [csae.encode_frame(v) for v in decoded] != frames:
            raise RuntimeError(f"CSAE {name}: re-encoding does not reproduce the frames")
        mapper = _CSAE_MAPS[name]
        data, size = f"csae_{name.lower()}", sum(map(len, frames)) / len(frames)
        modes += [
            Mode("decode", data, len(frames), partial(_decode_all, frames), size),
            Mode("encode", data, len(frames), partial(_encode_all, decoded), size),
            Mode("decode+map", data, len(frames), partial(_decode_map_all, frames, mapper), size),
        ]
    return modes


def _denm_value() -> dict[str, Any]:
    its = unix_ms_to_timestamp_its(REFERENCE_MS)
    point = {"pathPosition": {"deltaLatitude": -100, "deltaLongitude": 200, "deltaAltitude": 50}}
    position = {
        "latitude": 481234567,
        "longitude": 115678901,
        "positionConfidenceEllipse": {"semiMajorConfidence": 100, "semiMinorConfidence": 50, "semiMajorOrientation": 0},
        "altitude": {"altitudeValue": 52000, "altitudeConfidence": "alt-001-00"},
    }
    management = {
        "actionID": {"originatingStationID": 77, "sequenceNumber": 9},
        "detectionTime": its - 2000,
        "referenceTime": its,
        "eventPosition": position,
        "relevanceDistance": "lessThan200m",
        "validityDuration": 120,
        "stationType": 5,
    }
    situation = {"informationQuality": 7, "eventType": {"causeCode": 94, "subCauseCode": 2}}
    return {
        "header": {"protocolVersion": 2, "messageID": 1, "stationID": 77},
        "denm": {"management": management, "situation": situation, "location": {"traces": [[point, point]]}},
    }


def _cam_decode_map(data: bytes) -> object:
    return cam_to_vehicle_state(etsi.CAM.decode(data), REFERENCE_MS)


def etsi_modes() -> list[Mode]:
    """Ours and pycrate's decode and encode of the CAM and the DENM; decode+map of the CAM.

    Each side encodes its own decode of the same bytes (the values are equal: our types are pycrate's, translated).
    """
    vectors = json.loads((DATA / "etsi" / "etsi_vectors.json").read_text())["vectors"]
    cam = bytes.fromhex(next(v["uper_hex"] for v in vectors if v["pdu"] == "CAM"))
    denm = etsi.encode_denm(_denm_value())
    modes = []
    for pdu, t, data in (("CAM", etsi.CAM, cam), ("DENM", etsi.DENM, denm)):
        value, pycrate_value = t.decode(data), etsi.decode_pycrate(pdu, data)
        if not t.encode(value) == data == etsi.encode_pycrate(pdu, pycrate_value):
            raise RuntimeError(f"{pdu}: our codec or pycrate does not re-encode it to its bytes")
        name, size = pdu.lower(), float(len(data))
        modes += [
            Mode("decode", name, 1, partial(t.decode, data), size),
            Mode("encode", name, 1, partial(t.encode, value), size),
            Mode("pycrate decode", name, 1, partial(etsi.decode_pycrate, pdu, data), size),
            Mode("pycrate encode", name, 1, partial(etsi.encode_pycrate, pdu, pycrate_value), size),
        ]
    cam_map = partial(_cam_decode_map, cam)
    modes.append(Mode("decode+map", "cam", 1, cam_map, float(len(cam))))
    return modes


def _timed(mode: Mode, passes: int) -> float:
    start = time.thread_time()
    for _ in range(passes):
        mode.one_pass()
    return time.thread_time() - start


def _rates(modes: Sequence[Mode], runs: int, seconds: float) -> dict[tuple[str, str], list[float]]:
    passes = {}
    for mode in modes:  # warm-up, which also sizes each run to about `seconds` of CPU
        probe = 1
        while (spent := _timed(mode, probe)) < 0.02:
            probe *= 4
        passes[mode] = max(1, round(probe * seconds / spent))
    rates: dict[tuple[str, str], list[float]] = {(m.data, m.name): [] for m in modes}
    for _ in range(runs):
        for mode in modes:
            spent = _timed(mode, passes[mode])
            rates[(mode.data, mode.name)].append(mode.count * passes[mode] / max(spent, 1e-9))
    return rates


def measure(runs: int = 5, seconds: float = 0.2) -> dict[str, Any]:
    """Rates (messages per CPU second) of every mode, as {"<data>_<mode>_per_s": median, ...} plus speedups.

    Keys: csae_{bsm,rsm,spat,map}_{decode,encode,decode_map}_per_s, {cam,denm}_{decode,encode}_per_s,
    {cam,denm}_pycrate_{decode,encode}_per_s, cam_decode_map_per_s, speedup_{cam,denm}_{decode,encode} and
    speedup_vs_pycrate_min.
    """
    rates = _rates([*csae_modes(), *etsi_modes()], runs, seconds)
    out: dict[str, Any] = {}
    for (data, mode), values in rates.items():
        key = f"{data}_{mode.replace('+', '_').replace(' ', '_')}_per_s"
        out[key] = round(statistics.median(values), 1)
    speedups = {
        f"speedup_{pdu}_{op}": round(out[f"{pdu}_{op}_per_s"] / out[f"{pdu}_pycrate_{op}_per_s"], 2)
        for pdu in ("cam", "denm")
        for op in ("decode", "encode")
    }
    out |= speedups
    out["speedup_vs_pycrate_min"] = min(speedups.values())
    return out


def table(results: dict[str, Any]) -> str:
    """The rates and speedups as an aligned text table."""
    lines = [f"{'figure':<36} {'value':>12}"]
    lines += [f"{key:<36} {value:>12,.1f}" for key, value in results.items()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure, print the table, then the JSON line."""
    parser = argparse.ArgumentParser(prog="python -m bench.codec_standards", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="interleaved runs per mode (median reported)")
    parser.add_argument("--seconds", type=float, default=0.2, help="CPU seconds per run and mode")
    args = parser.parse_args(argv)
    results = measure(args.runs, args.seconds)
    print(table(results))
    print(json.dumps(results, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
