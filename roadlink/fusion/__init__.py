"""Transport-free multi-source fusion core: Stone Soup-style roles over numpy struct-of-arrays.

One module per role, each vectorized over all tracks of a tile (no per-object Python loop on the hot
path), in a tile's local ENU frame (metres, m/s, unix ms):

- :mod:`.state` the track state layout and :class:`TrackTable`; :mod:`.detections` the input batch;
- :mod:`.motion` and :mod:`.predictor` prediction; :mod:`.updater` the Kalman update (Joseph form);
- :mod:`.gating` Mahalanobis gating over a spatial grid; :mod:`.association` GNN assignment;
- :mod:`.t2t` covariance intersection for RSU object lists and self-reports; :mod:`.initiator` M-of-N
  confirmation; :mod:`.coverage` the learned coverage of each source, for corroboration in overlaps;
  :mod:`.deleter` deletion; :mod:`.merger` duplicate merging; :mod:`.ordering` the reorder window;
- :mod:`.tracker` the loop composing them; :mod:`.convert` to and from domain types (WGS84).

Only numpy, scipy and :mod:`roadlink.domain` are imported: no gRPC, MQTT or generated code.
"""

from __future__ import annotations

from roadlink.fusion.association import gnn_assign
from roadlink.fusion.convert import (
    SourceDefaults,
    detections_from_frames,
    detections_from_vehicle_states,
    tracks_from_table,
)
from roadlink.fusion.coverage import LearnedCoverage
from roadlink.fusion.deleter import MissOrCovarianceDeleter
from roadlink.fusion.detections import Detections, SourceKind
from roadlink.fusion.gating import Hypotheses, MahalanobisGate
from roadlink.fusion.initiator import MOfNInitiator
from roadlink.fusion.merger import DuplicateMerger
from roadlink.fusion.motion import ClassMotion, ConstantVelocity, MotionModel, TurningVelocity, default_motion
from roadlink.fusion.ordering import ReorderBuffer, split_scans
from roadlink.fusion.predictor import KalmanPredictor
from roadlink.fusion.state import TrackTable, decode_vehicle_id, encode_vehicle_ids
from roadlink.fusion.t2t import CIResult, CovarianceIntersectionFuser, covariance_intersection
from roadlink.fusion.tracker import Tracker, TrackerConfig, TrackerStats
from roadlink.fusion.updater import KalmanUpdater

__all__ = [
    "CIResult",
    "ClassMotion",
    "ConstantVelocity",
    "CovarianceIntersectionFuser",
    "Detections",
    "DuplicateMerger",
    "Hypotheses",
    "KalmanPredictor",
    "KalmanUpdater",
    "LearnedCoverage",
    "MOfNInitiator",
    "MahalanobisGate",
    "MissOrCovarianceDeleter",
    "MotionModel",
    "ReorderBuffer",
    "SourceDefaults",
    "SourceKind",
    "TrackTable",
    "Tracker",
    "TrackerConfig",
    "TrackerStats",
    "TurningVelocity",
    "covariance_intersection",
    "decode_vehicle_id",
    "default_motion",
    "detections_from_frames",
    "detections_from_vehicle_states",
    "encode_vehicle_ids",
    "gnn_assign",
    "split_scans",
    "tracks_from_table",
]
