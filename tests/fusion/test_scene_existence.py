"""The bench scene's RSU trackers report an existence probability from their own track history (IPDA rule).

The rule is the same for every track; a real object's track and a clutter ghost differ only in their
detection sequences: a real object is detected with ``P_d`` at chi-square innovations, a ghost's gate holds
clutter with ``clutter_gate_probability`` at innovations uniform over the gate.
"""

from __future__ import annotations

import numpy as np

from bench.fusion_scene import (
    DEFAULT_SENSORS,
    EXISTENCE_PRIOR,
    clutter_innovations,
    existence_update,
    real_innovations,
)

FRAMES = 30
TRACKS = 2000


def _run(hit_probability: float, clutter: bool, detection_probability: float) -> np.ndarray:
    """``(FRAMES, TRACKS)`` existence of tracks started at the prior, frame by frame."""
    sensor = DEFAULT_SENSORS[0]
    rng = np.random.default_rng(5)
    existence = np.full(TRACKS, EXISTENCE_PRIOR)
    out = []
    for _ in range(FRAMES):
        hits = rng.random(TRACKS) < hit_probability
        innovations = clutter_innovations(rng, TRACKS) if clutter else real_innovations(rng, TRACKS)
        existence = existence_update(existence, hits, innovations, np.full(TRACKS, detection_probability), sensor)
        out.append(existence)
    return np.array(out)


def test_real_tracks_become_confident_and_ghosts_do_not() -> None:
    sensor = DEFAULT_SENSORS[0]
    real = _run(sensor.detection_probability, False, sensor.detection_probability)
    ghost = _run(sensor.clutter_gate_probability, True, sensor.vru_detection_probability)
    assert np.median(real[3]) > 0.9  # a lidar vehicle track after 4 frames
    assert np.mean(ghost[3] > 0.9) < 0.05
    assert np.mean(ghost.max(axis=0) > 0.9) < 0.2  # ever, over 3 s
    assert np.all((real >= 0.0) & (real <= 1.0))
    assert np.all((ghost >= 0.0) & (ghost <= 1.0))


def test_misses_lower_the_existence() -> None:
    sensor = DEFAULT_SENSORS[0]
    prior = np.full(2, 0.8)
    after = existence_update(prior, np.array([True, False]), np.zeros(2), np.full(2, 0.97), sensor)
    assert after[0] > 0.8 > after[1]
