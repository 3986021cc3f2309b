"""Global nearest neighbour (GNN) association: an optimal assignment over the gated pairs.

Leaving a track or a detection unassigned costs half the gate each, so assigning a gated pair of cost
``c`` saves ``gate - c``; GNN picks the set of disjoint pairs with the largest total saving (equivalently,
minimizes the cost of assigned pairs plus ``gate / 2`` per unassigned track and detection).

The gated pairs form a sparse bipartite graph. It is split into connected components, which are
independent problems. Isolated pairs (almost all of them in traffic) and components with a single track
or a single detection are solved at once, vectorized: their best pair is the cheapest edge. Only the rest
are solved one by one with :func:`scipy.optimize.linear_sum_assignment` on a small dense matrix.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components

from roadlink.fusion.matrices import FloatArray
from roadlink.fusion.state import IntArray

__all__ = ["gnn_assign"]

_TIE_MARGIN = 1e-9
_PROPAGATION_ROUNDS = 8


def gnn_assign(track_rows: IntArray, detection_rows: IntArray, cost: FloatArray, gate: float) -> IntArray:
    """Choose the optimal set of disjoint gated pairs.

    Args:
        track_rows: ``(E,)`` track of each gated pair (any integer labels).
        detection_rows: ``(E,)`` detection of each pair; a (track, detection) pair appears at most once.
        cost: ``(E,)`` pair costs (squared Mahalanobis distance), each at most ``gate``.
        gate: The cost of leaving one track plus one detection unassigned.

    Returns:
        Sorted indices into the E pairs of the chosen ones.
    """
    if not len(cost):
        return np.zeros(0, np.int64)
    t, d = _compact(track_rows), _compact(detection_rows)
    track_degree, detection_degree = np.bincount(t)[t], np.bincount(d)[d]
    isolated = (track_degree == 1) & (detection_degree == 1)
    chosen = [np.flatnonzero(isolated)]  # the only edge of its component: always worth assigning
    rest = np.flatnonzero(~isolated)
    if len(rest):
        component = _components(t[rest], d[rest], int(t.max()) + 1, int(d.max()) + 1)
        tracks_per = np.bincount(_first_of_each(component, t[rest]))
        detections_per = np.bincount(_first_of_each(component, d[rest]))
        simple = np.minimum(tracks_per, detections_per)[component] == 1
        chosen.append(rest[_best_edge_per_component(np.flatnonzero(simple), component, cost[rest])])
        hard = np.flatnonzero(~simple)
        saving = gate + _TIE_MARGIN - cost[rest]
        chosen += [rest[picked] for picked in _solve_components(hard, component, t[rest], d[rest], saving)]
    return np.sort(np.concatenate(chosen))


def _compact(labels: IntArray) -> IntArray:
    """Labels shifted to start at 0; np.unique only when they are sparse (e.g. global table rows of a few tracks)."""
    low, high = int(labels.min()), int(labels.max())
    if high - low < 4 * len(labels) + 64:
        return np.asarray(labels - low, dtype=np.int64)
    return np.asarray(np.unique(labels, return_inverse=True)[1], dtype=np.int64)


def _components(t: IntArray, d: IntArray, n_tracks: int, n_detections: int) -> IntArray:
    """Connected-component label (0..K-1) of each edge of the bipartite graph.

    Minimum-label propagation settles in a few rounds for the small clusters of traffic; a long chain falls
    back to :func:`scipy.sparse.csgraph.connected_components`.
    """
    track_label = np.arange(n_tracks, dtype=np.int64)
    detection_label = np.full(n_detections, n_tracks, dtype=np.int64)
    for _ in range(_PROPAGATION_ROUNDS):
        edge_label = np.minimum(track_label[t], detection_label[d])
        np.minimum.at(detection_label, d, edge_label)
        np.minimum.at(track_label, t, detection_label[d])
        if np.array_equal(track_label[t], detection_label[d]):
            return np.asarray(np.unique(track_label[t], return_inverse=True)[1], dtype=np.int64)
    n_nodes = n_tracks + n_detections
    graph = coo_array((np.ones(len(t)), (t, n_tracks + d)), shape=(n_nodes, n_nodes))
    _, labels = connected_components(graph, directed=False)
    return np.asarray(np.unique(labels[t], return_inverse=True)[1], dtype=np.int64)


def _first_of_each(component: IntArray, node: IntArray) -> IntArray:
    """Component label of each distinct (component, node), for counting nodes per component."""
    key = np.unique(component * (int(node.max()) + 1) + node)
    return np.asarray(key // (int(node.max()) + 1), dtype=np.int64)


def _best_edge_per_component(edges: IntArray, component: IntArray, cost: FloatArray) -> IntArray:
    """In a component with one track or one detection, only one pair can be assigned: the cheapest."""
    if not len(edges):
        return edges
    order = edges[np.lexsort((cost[edges], component[edges]))]
    first = np.ones(len(order), dtype=bool)
    first[1:] = component[order][1:] != component[order][:-1]
    return order[first]


def _dense_rank(group: IntArray, node: IntArray) -> IntArray:
    """For edges sorted by ``group``, the rank of each edge's node among the distinct nodes of its group."""
    order = np.lexsort((node, group))
    g, n = group[order], node[order]
    new_node = np.ones(len(order), dtype=bool)
    new_node[1:] = (g[1:] != g[:-1]) | (n[1:] != n[:-1])
    new_group = np.ones(len(order), dtype=bool)
    new_group[1:] = g[1:] != g[:-1]
    count = np.cumsum(new_node) - 1
    rank_sorted = count - np.maximum.accumulate(np.where(new_group, count, 0))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = rank_sorted
    return rank


def _solve_components(
    edges: IntArray, component: IntArray, t: IntArray, d: IntArray, saving: FloatArray
) -> list[IntArray]:
    """Solve each remaining component with the Hungarian-type solver on its dense saving matrix."""
    if not len(edges):
        return []
    edges = edges[np.argsort(component[edges], kind="stable")]
    row = _dense_rank(component[edges], t[edges])
    col = _dense_rank(component[edges], d[edges])
    bounds = np.flatnonzero(np.diff(component[edges])) + 1
    chosen = []
    for group, r_index, c_index in zip(
        np.split(edges, bounds), np.split(row, bounds), np.split(col, bounds), strict=True
    ):
        shape = (int(r_index.max()) + 1, int(c_index.max()) + 1)
        matrix = np.zeros(shape)
        matrix[r_index, c_index] = saving[group]
        edge_at = np.full(shape, -1, dtype=np.int64)
        edge_at[r_index, c_index] = group
        r, c = linear_sum_assignment(matrix, maximize=True)
        picked = edge_at[r, c]
        chosen.append(picked[picked >= 0])
    return chosen
