"""Smoke test of bench.codec's code paths: every mode runs once (tiny profile, nothing timed is asserted).

It checks that each message type the issue lists (BSM, SPaT, MAP, RSM, CAM) and the pycrate comparisons
(SPaT, MAP, CAM, DENM) reach the last-line JSON, so the bench cannot silently lose a row.
"""

from __future__ import annotations

import json

import pytest

from bench import codec, codec_standards

TINY = codec.Profile(runs=1, run_seconds=0.0, probe_seconds=0.0)
"""One pass per mode for the warm-up and one per run: code paths only."""


def test_measure_reports_every_message_and_speedup() -> None:
    results, figures = codec.measure(TINY)
    data = {r.mode.data for r in results}
    assert {"stream128", "log222", "spat3", "map5", "sdsm1", "csae_rsm", "cam", "denm"} <= data
    for key in (
        "bsm_decode_per_s",
        "bsm_encode_per_s",
        "spat_decode_per_s",
        "map_encode_per_s",
        "rsm_decode_per_s",
        "rsm_encode_per_s",
        "sdsm_decode_per_s",
        "cam_decode_per_s",
        "cam_encode_per_s",
        "cam_pycrate_decode_per_s",
        "denm_pycrate_encode_per_s",
    ):
        value = figures[key]
        assert isinstance(value, int), key
        assert value > 0, key
    pairs = [(m, op) for m in ("spat", "map", "cam", "denm") for op in ("decode", "encode")]
    ratios = [float(str(figures[f"{m}_{op}_speedup_vs_pycrate"])) for m, op in pairs]
    assert figures["speedup_vs_pycrate_min"] == min(ratios)
    assert json.loads(json.dumps(figures)) == figures


def test_main_prints_the_json_object_last(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codec, "QUICK", TINY)
    assert codec.main([]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    figures = json.loads(last)
    assert {"bsm_decode_per_s", "bsm_encode_per_s", "speedup_vs_pycrate_min", "rsm_decode_per_s"} <= figures.keys()


def test_standards_measure_keys() -> None:
    figures = codec_standards.measure(runs=1, seconds=0.0)
    assert figures["speedup_vs_pycrate_min"] == min(
        v for k, v in figures.items() if k.startswith("speedup_") and k != "speedup_vs_pycrate_min"
    )
    assert {"csae_rsm_decode_per_s", "cam_decode_per_s", "denm_pycrate_decode_per_s"} <= figures.keys()
