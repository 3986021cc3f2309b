"""`roadlink decode` / `roadlink encode` as a field engineer runs them: capture in, JSON out, and back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data" / "j2735"


def _roadlink(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "roadlink.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_decode_then_encode_gives_back_the_capture(tmp_path: Path) -> None:
    capture = DATA / "j2735.MessageFrame.Bsm.uper"
    decoded = _roadlink("decode", "--file", str(capture), "--reference-ms", "1525132800000")
    assert decoded.returncode == 0, decoded.stderr
    document = json.loads(decoded.stdout)
    assert document["v1_type"] == "v2x.vehicle.v1.VehicleState"
    assert document["v1"][0]["position"]["latitude_deg"] == 41.1642143
    (tmp_path / "bsm.json").write_text(decoded.stdout)
    encoded = _roadlink("encode", "--file", str(tmp_path / "bsm.json"))
    assert encoded.returncode == 0, encoded.stderr
    assert bytes.fromhex(encoded.stdout.strip()) == capture.read_bytes()


def test_spat_hex_from_a_udp_capture_decodes() -> None:
    hex_text = (DATA / "SpatReceiverTest_ValidSPAT.txt").read_text()
    decoded = _roadlink("decode", hex_text)
    assert decoded.returncode == 0, decoded.stderr
    assert json.loads(decoded.stdout)["v1_type"] == "v2x.roadside.v1.SignalPhaseAndTiming"


def test_bad_input_is_a_clear_error_not_a_traceback() -> None:
    for result in (_roadlink("decode", "zz"), _roadlink("encode", "--file", "-", stdin="{bad")):
        assert result.returncode == 2
        assert "Traceback" not in result.stderr
        assert result.stderr.startswith("roadlink ")


def test_map_and_psm_captures_decode_to_v1_and_encode_back(tmp_path: Path) -> None:
    for name, v1_type in (
        ("MapReceiverTest_ValidMAP.txt", "v2x.roadside.v1.MapData"),
        ("PsmReceiverTest_ValidPSM.txt", "v2x.roadside.v1.PerceptionFrame"),
    ):
        decoded = _roadlink("decode", (DATA / name).read_text(), "--reference-ms", "1732665201120")
        assert decoded.returncode == 0, decoded.stderr
        document = json.loads(decoded.stdout)
        assert (document["v1_type"], len(document["v1"])) == (v1_type, 1)
        (tmp_path / "frame.json").write_text(decoded.stdout)
        encoded = _roadlink("encode", "--file", str(tmp_path / "frame.json"))
        assert encoded.returncode == 0, encoded.stderr
        assert encoded.stdout.strip() == document["frame_hex"]
