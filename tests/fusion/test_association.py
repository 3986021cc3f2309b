"""GNN assignment equals the brute-force optimum."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from roadlink.fusion import gnn_assign

GATE = 10.0


def _objective(edges: list[int], tracks: np.ndarray, detections: np.ndarray, cost: np.ndarray) -> float:
    """The GNN objective: each assigned pair saves ``gate - cost``."""
    return float(sum(cost[e] - GATE for e in edges))


def _brute_force(tracks: np.ndarray, detections: np.ndarray, cost: np.ndarray) -> float:
    """Minimum of sum(cost - gate) over all sets of disjoint pairs (exhaustive)."""
    best = 0.0

    def search(k: int, used_t: frozenset[int], used_d: frozenset[int], total: float) -> None:
        nonlocal best
        if k == len(cost):
            best = min(best, total)
            return
        search(k + 1, used_t, used_d, total)
        if tracks[k] not in used_t and detections[k] not in used_d:
            search(k + 1, used_t | {int(tracks[k])}, used_d | {int(detections[k])}, total + cost[k] - GATE)

    search(0, frozenset(), frozenset(), 0.0)
    return best


def _check(tracks: np.ndarray, detections: np.ndarray, cost: np.ndarray) -> None:
    chosen = gnn_assign(tracks, detections, cost, GATE)
    assert len(set(tracks[chosen].tolist())) == len(chosen)
    assert len(set(detections[chosen].tolist())) == len(chosen)
    got = _objective(chosen.tolist(), tracks, detections, cost)
    assert abs(got - _brute_force(tracks, detections, cost)) < 1e-9


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 6), m=st.integers(1, 6), density=st.floats(0.1, 1.0))
def test_gnn_equals_brute_force_optimum(seed: int, n: int, m: int, density: float) -> None:
    rng = np.random.default_rng(seed)
    t, d = np.divmod(np.arange(n * m), m)
    keep = rng.random(n * m) < density
    if not keep.any():
        keep[0] = True
    cost = rng.uniform(0.0, GATE, n * m)
    _check(t[keep] * 7 + 3, d[keep] + 100, cost[keep])


def test_global_optimum_beats_greedy() -> None:
    # Greedy would take the cheapest pair (t0, d0) and leave t1 unassigned; GNN assigns both.
    tracks, detections = np.array([0, 0, 1]), np.array([0, 1, 0])
    cost = np.array([1.0, 4.0, 2.0])
    chosen = gnn_assign(tracks, detections, cost, GATE)
    assert sorted(zip(tracks[chosen].tolist(), detections[chosen].tolist(), strict=True)) == [(0, 1), (1, 0)]


def test_many_components_mixed_sizes() -> None:
    rng = np.random.default_rng(9)
    blocks = []
    for k in range(200):
        size = int(rng.integers(1, 4))
        t, d = np.divmod(np.arange(size * size), size)
        blocks.append((t + 10 * k, d + 10 * k, rng.uniform(0, GATE, size * size)))
    tracks, detections, cost = (np.concatenate(parts) for parts in zip(*blocks, strict=True))
    chosen = gnn_assign(tracks, detections, cost, GATE)
    for k in range(0, 200, 7):
        local = np.flatnonzero(tracks // 10 == k)
        picked = [e for e in chosen.tolist() if tracks[e] // 10 == k]
        optimum = _brute_force(tracks[local], detections[local], cost[local])
        assert abs(_objective(picked, tracks, detections, cost) - optimum) < 1e-9


def test_empty() -> None:
    empty = np.zeros(0, np.int64)
    assert gnn_assign(empty, empty, np.zeros(0), GATE).tolist() == []


def test_long_chain_component() -> None:
    # t0-d0-t1-d1-...: one long component (more rounds than label propagation takes) solved as a whole.
    n = 40
    tracks = np.concatenate([np.arange(n), np.arange(1, n)])
    detections = np.concatenate([np.arange(n), np.arange(n - 1)])
    cost = np.concatenate([np.full(n, 5.0), np.full(n - 1, 1.0)])
    chosen = gnn_assign(tracks, detections, cost, GATE)
    # Diagonal pairs save 5 each (n of them = 200); off-diagonal pairs save 9 each but leave t0 and d_last: 351.
    assert _objective(chosen.tolist(), tracks, detections, cost) == -(9.0 * (n - 1))
