"""Track-to-track fusion by covariance intersection (CI), vectorized over pairs.

An RSU object list is the output of the RSU's own tracker: its errors are correlated over time and with
our track (which already holds earlier estimates from the same RSU). A Kalman update would count that
information twice and become over-confident. CI is consistent for any unknown cross-correlation::

    P^-1 = w Pa^-1 + (1 - w) Pb^-1,    x = P (w Pa^-1 xa + (1 - w) Pb^-1 xb),    0 <= w <= 1.

It is evaluated in covariance form: with ``M = w Pb + (1 - w) Pa``, ``P = Pb M^-1 Pa`` and
``x = w Pb M^-1 xa + (1 - w) Pa M^-1 xb``, one 4x4 inverse for the chosen ``w``.

``w`` minimizes ``trace(P)``, a convex function of ``w`` that is a ratio of two polynomials of degree 3 and 4
whose coefficients follow in closed form from ``C = Pa^-1 (Pb - Pa)`` (:func:`trace_polynomials`). A
bracketed Newton iteration on those scalars, vectorized over pairs, finds the minimizer to rounding
accuracy in a few steps (at most ``newton_iterations``). The result falls back to the better end (``w = 0``
or ``1``) if that is lower, so the fused trace never exceeds ``min(trace Pa, trace Pb)``. Batches of 1 to 127
pairs (every RSU round of the SUMO scene) take the joint-eigenbasis path instead, a fixed ~45 numpy calls
(:func:`_eigen_covariance_intersection`); if a covariance is not positive definite there, batches of fewer
than 16 pairs take a path of about 20 numpy calls: node grid and two parabola refinements with batched LAPACK
inverses, the trace within ~1e-7 of its minimum (:func:`_small_covariance_intersection`).

RSU object lists also carry the RSU's own object id. :class:`TrackLinks` remembers which global track each
(source, object id) was last fused into, so that the next estimate of that RSU track is tried against the
same global track with a wider gate (:meth:`roadlink.fusion.gating.MahalanobisGate.gate_linked`): a
stretch of large, time-correlated RSU errors then does not split the object into two tracks.

An estimate without velocity (``Hb = [I 0]``, position covariance ``Rb``) uses the partial-observation form
``P^-1 = w Pa^-1 + (1 - w) Hb^T Rb^-1 Hb``, which is a Kalman update with ``Rb w / (1 - w)`` followed by a
``1 / w`` scaling; ``w`` is picked from a fixed grid (2x2 closed forms, vectorized over pairs and grid).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from roadlink.fusion.matrices import (
    FloatArray,
    aos4,
    inv2,
    soa4,
    soa_inv4,
    soa_matmul,
    soa_matvec,
    soa_trace,
)
from roadlink.fusion.state import BoolArray, IntArray
from roadlink.fusion.updater import joseph_update

__all__ = [
    "CIResult",
    "CovarianceIntersectionFuser",
    "TrackLinks",
    "covariance_intersection",
    "partial_covariance_intersection",
]


@dataclass(frozen=True, slots=True)
class CIResult:
    """Fused ``states (E, 4)``, ``covs (E, 4, 4)`` and the chosen weights ``omega (E,)`` of the first estimate."""

    states: FloatArray
    covs: FloatArray
    omega: FloatArray


_NODES = np.linspace(0.0, 1.0, 9)
_NODE_STEP = float(_NODES[1])
_OMEGA_TOLERANCE = 1e-7


def _evaluate(p: FloatArray, q: FloatArray, omega: FloatArray) -> tuple[FloatArray, ...]:
    """``p, p', p'', q, q', q''`` at ``omega`` ``(E,)`` for cubics ``p`` ``(E, 4)`` and quartics ``q`` ``(E, 5)``."""
    w2 = omega * omega
    w3 = w2 * omega
    p0, p1, p2, p3 = p.T
    q0, q1, q2, q3, q4 = q.T
    return (
        p0 + p1 * omega + p2 * w2 + p3 * w3,
        p1 + 2.0 * p2 * omega + 3.0 * p3 * w2,
        2.0 * p2 + 6.0 * p3 * omega,
        q0 + q1 * omega + q2 * w2 + q3 * w3 + q4 * w3 * omega,
        q1 + 2.0 * q2 * omega + 3.0 * q3 * w2 + 4.0 * q4 * w3,
        2.0 * q2 + 6.0 * q3 * omega + 12.0 * q4 * w2,
    )


def _inner(a: FloatArray, b: FloatArray) -> FloatArray:
    """``trace(a @ b.T)`` (the sum of elementwise products) for struct-of-arrays stacks ``(4, 4, E)``: ``(E,)``."""
    return np.asarray(np.einsum("ije,ije->e", a, b))


def _inner_t(a: FloatArray, b: FloatArray) -> FloatArray:
    """``trace(a @ b)`` for struct-of-arrays stacks ``(4, 4, E)``: ``(E,)``."""
    return np.asarray(np.einsum("ije,jie->e", a, b))


def trace_polynomials(p_a: FloatArray, p_b: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Polynomials ``p`` (degree 3) and ``q`` (degree 4) with ``trace(CI(w)) = p(w) / q(w)`` for pairs ``(E, 4, 4)``.

    With ``C = Pa^-1 (Pb - Pa)``: ``M(w) = Pa (I + w C)`` and ``CI(w) = Pb M^-1 Pa = Pb adj(I + w C) / q(w)``
    where ``q(w) = det(I + w C) = sum_k e_k w^k`` (``e_k`` from the power sums ``trace(C^k)`` by Newton's
    identities) and ``adj(I + w C) = sum_k w^k B_k`` with ``B_0 = I``, ``B_k = e_k I - C B_(k-1)``.

    Returns:
        ``(p (E, 4), q (E, 5))`` coefficients in increasing powers of ``w``.
    """
    p, q = _trace_polynomials(soa4(p_a), soa4(p_b))
    return p.T, q.T


def _trace_polynomials(a: FloatArray, b: FloatArray) -> tuple[FloatArray, FloatArray]:
    """:func:`trace_polynomials` on struct-of-arrays stacks ``(4, 4, E)``: ``(p (4, E), q (5, E))``."""
    c = soa_matmul(soa_inv4(a), b - a)
    c2 = soa_matmul(c, c)
    s1, s2, s3, s4 = soa_trace(c), _inner_t(c, c), _inner_t(c2, c), _inner_t(c2, c2)
    e1 = s1
    e2 = (e1 * s1 - s2) / 2.0
    e3 = (e2 * s1 - e1 * s2 + s3) / 3.0
    e4 = (e3 * s1 - e2 * s2 + e1 * s3 - s4) / 4.0
    t0, t1 = soa_trace(b), _inner(c, b)
    t2, t3 = _inner(c2, b), _inner_t(c2, soa_matmul(c, b))
    p = np.stack([t0, e1 * t0 - t1, e2 * t0 - e1 * t1 + t2, e3 * t0 - e2 * t1 + e1 * t2 - t3])
    q = np.stack([np.ones_like(e1), e1, e2, e3, e4])
    return p, q


def trace_minimizing_omega(p_a: FloatArray, p_b: FloatArray, iterations: int = 4) -> FloatArray:
    """The ``w`` in [0, 1] minimizing ``trace(CI(w))`` for pairs ``(E, 4, 4)``.

    The trace is the ratio of the polynomials of :func:`trace_polynomials`. The best of 9 equally spaced
    nodes brackets the minimizer (the trace is convex in ``w``); from the vertex of the parabola through it
    and its neighbours, safeguarded Newton steps on the sign of ``f'`` (that of ``p' q - p q'``) refine it,
    and the best value seen is returned.
    """
    return _minimizing_omega(*trace_polynomials(p_a, p_b), iterations)


def _horner(coefficients: FloatArray, nodes: FloatArray) -> FloatArray:
    """Polynomials ``(E, d)`` (increasing powers) at ``nodes`` ``(K,)``: ``(E, K)``.

    Elementwise, on purpose: a matrix product with the node powers would go to a multi-threaded BLAS, whose
    thread hand-offs cost milliseconds on a loaded machine for this tiny amount of work.
    """
    values = coefficients[:, -1, None] * nodes
    for k in range(coefficients.shape[1] - 2, 0, -1):
        values += coefficients[:, k, None]
        values *= nodes
    return np.asarray(values + coefficients[:, 0, None])


def _minimizing_omega(p: FloatArray, q: FloatArray, iterations: int) -> FloatArray:
    """:func:`trace_minimizing_omega` from the polynomials ``p (E, 4)``, ``q (E, 5)``.

    The trace at 9 equally spaced nodes brackets the minimizer; the vertex of
    the parabola through the best node and its neighbours starts the safeguarded Newton iteration so close
    to the minimum that one or two steps reach the tolerance (few vector operations for small batches too).
    """
    rows = np.arange(len(p))
    last = len(_NODES) - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        node_values = _horner(p, _NODES) / _horner(q, _NODES)
        node_values = np.where(np.isfinite(node_values) & (node_values > 0), node_values, np.inf)
        best = np.argmin(node_values, axis=1)
        best_omega, best_value = _NODES[best], node_values[rows, best]
        below, above = np.maximum(best - 1, 0), np.minimum(best + 1, last)
        low, high = _NODES[below], _NODES[above]
        before, after = node_values[rows, below], node_values[rows, above]
        curvature = before - 2.0 * best_value + after
        interior = (best > 0) & (best < last) & np.isfinite(curvature) & (curvature > 0)
        shift = np.where(interior, 0.5 * (before - after) / np.where(interior, curvature, 1.0), 0.0)
        omega = np.clip(best_omega + shift * _NODE_STEP, low, high)
        for iteration in range(iterations + 1):
            pv, p1, p2, qv, q1, q2 = _evaluate(p, q, omega)
            value = pv / qv
            better = (value < best_value) & (value > 0)
            best_omega, best_value = np.where(better, omega, best_omega), np.where(better, value, best_value)
            if iteration == iterations:
                break
            g = p1 * qv - pv * q1
            low, high = np.where(g < 0, omega, low), np.where(g > 0, omega, high)
            newton = omega - g / (p2 * qv - pv * q2)
            step = np.where((newton >= low) & (newton <= high), newton, 0.5 * (low + high))
            if np.all(np.abs(step - omega) < _OMEGA_TOLERANCE):
                break
            omega = step
    return np.asarray(best_omega)


def covariance_intersection(
    x_a: FloatArray, p_a: FloatArray, x_b: FloatArray, p_b: FloatArray, newton_iterations: int = 4
) -> CIResult:
    """Fuse two full-state estimates per pair by trace-minimizing CI (module docstring).

    The matrix work runs in the struct-of-arrays layout (:func:`roadlink.fusion.matrices.soa4`).

    Args:
        x_a, x_b: ``(E, 4)`` estimates.
        p_a, p_b: ``(E, 4, 4)`` positive-definite covariances.
        newton_iterations: Safeguarded Newton steps refining ``w``.
    """
    if _EIGEN_BATCH[0] <= len(x_a) < _EIGEN_BATCH[1]:
        try:
            return _eigen_covariance_intersection(x_a, p_a, x_b, p_b)
        except np.linalg.LinAlgError:
            pass  # a covariance that is not positive definite: the paths below only need invertibility
    if len(x_a) < _SMALL_BATCH:
        return _small_covariance_intersection(x_a, p_a, x_b, p_b)
    a, b = soa4(p_a), soa4(p_b)
    p, q = _trace_polynomials(a, b)
    omega = _minimizing_omega(np.ascontiguousarray(p.T), np.ascontiguousarray(q.T), newton_iterations)
    m_inv = soa_inv4(a + omega * (b - a))
    fused = soa_matmul(soa_matmul(b, m_inv), a)
    cov = aos4(0.5 * (fused + fused.transpose(1, 0, 2)))
    states = (
        omega * soa_matvec(b, soa_matvec(m_inv, x_a.T)) + (1.0 - omega) * soa_matvec(a, soa_matvec(m_inv, x_b.T))
    ).T
    states = np.ascontiguousarray(states)
    trace, trace_a, trace_b = soa_trace(fused), soa_trace(a), soa_trace(b)
    use_a = np.flatnonzero((trace_a < trace) & (trace_a <= trace_b))
    use_b = np.flatnonzero((trace_b < trace) & ~((trace_a < trace) & (trace_a <= trace_b)))
    states[use_a], cov[use_a], omega[use_a] = x_a[use_a], p_a[use_a], 1.0
    states[use_b], cov[use_b], omega[use_b] = x_b[use_b], p_b[use_b], 0.0
    return CIResult(states, cov, omega)


_SMALL_BATCH = 16
_EIGEN_BATCH = (1, 128)
"""Batch sizes (from, below) for which :func:`covariance_intersection` takes :func:`_eigen_covariance_intersection`
(fewer numpy calls than the polynomial path, less LAPACK work than the node grid; measured fastest there)."""
"""Below this many pairs :func:`covariance_intersection` takes :func:`_small_covariance_intersection`."""
_SMALL_NODES = np.linspace(0.0, 1.0, 17)
_REFINE_STEP = 1e-3


def _ci_traces(p_a: FloatArray, diff: FloatArray, ab: FloatArray, omega: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``trace(CI(w))`` ``(E, K)`` at weights ``omega`` ``(E, K)``, and the inverses ``M(w)^-1`` ``(E, K, 4, 4)``.

    ``trace(Pb M^-1 Pa) = trace(M^-1 Pa Pb)`` with ``M = Pa + w (Pb - Pa)`` and ``ab = Pa Pb``.
    """
    m_inv = np.linalg.inv(p_a[:, None] + omega[:, :, None, None] * diff[:, None])
    return np.asarray(np.einsum("ekij,eji->ek", m_inv, ab)), np.asarray(m_inv)


def _vertex(omega: FloatArray, values: FloatArray, spacing: FloatArray, reach: float) -> FloatArray:
    """``(E,)`` abscissa of the parabola's vertex through ``values`` ``(E, 3)`` at ``omega - h, omega, omega + h``,
    at most ``reach`` spacings from ``omega`` (a Newton step on finite differences).

    Where the three points are not convex (a boundary minimum, rounding), ``omega`` itself.
    """
    before, centre, after = values.T
    curvature = before - 2.0 * centre + after
    convex = np.isfinite(curvature) & (curvature > 0)
    shift = np.where(convex, 0.5 * (before - after) / np.where(convex, curvature, 1.0), 0.0)
    return np.asarray(omega + np.clip(shift, -reach, reach) * spacing)


def _small_covariance_intersection(x_a: FloatArray, p_a: FloatArray, x_b: FloatArray, p_b: FloatArray) -> CIResult:
    """:func:`covariance_intersection` for a few pairs ``(E, 4)``/``(E, 4, 4)`` in about 20 numpy calls.

    For a handful of pairs (the RSU frames of a small scene) numpy's per-call overhead, not arithmetic, sets
    the cost; the polynomial and Newton path needs ~100 calls. Here the trace is evaluated at 17 nodes with
    one batched LAPACK inverse, refined by the parabola through the best node and its neighbours, then by a
    second parabola at +-0.001 around that vertex (the trace is smooth and convex in ``w``, so the vertex of
    a parabola that close is the minimizer to ~1e-7 of the trace), and the best value seen is kept.
    """
    rows = np.arange(len(x_a))
    last = len(_SMALL_NODES) - 1
    diff, ab = p_b - p_a, p_a @ p_b
    node_traces, _ = _ci_traces(p_a, diff, ab, np.broadcast_to(_SMALL_NODES, (len(rows), last + 1)))
    best = np.argmin(node_traces, axis=1)
    around = np.clip(best[:, None] + np.arange(-1, 2), 0, last)
    first = _vertex(_SMALL_NODES[best], node_traces[rows[:, None], around], np.full(len(rows), _SMALL_NODES[1]), 1.0)
    first = np.clip(first, _REFINE_STEP, 1.0 - _REFINE_STEP)
    points = first[:, None] + np.array([-_REFINE_STEP, 0.0, _REFINE_STEP])
    near_traces, _ = _ci_traces(p_a, diff, ab, points)
    second = np.clip(
        _vertex(first, near_traces, np.full(len(rows), _REFINE_STEP), 1.0 / _SMALL_NODES[1] / _REFINE_STEP), 0.0, 1.0
    )
    candidates = np.concatenate([_SMALL_NODES[best, None], points, second[:, None]], axis=1)
    traces, m_inv = _ci_traces(p_a, diff, ab, candidates)
    traces = np.where(np.isfinite(traces) & (traces > 0), traces, np.inf)
    pick = np.argmin(traces, axis=1)
    omega = np.ascontiguousarray(candidates[rows, pick])
    chosen = m_inv[rows, pick]
    fused = p_b @ chosen @ p_a
    cov = 0.5 * (fused + np.swapaxes(fused, 1, 2))
    states = omega[:, None] * np.einsum("eij,ej->ei", p_b @ chosen, x_a)
    states += (1.0 - omega)[:, None] * np.einsum("eij,ej->ei", p_a @ chosen, x_b)
    return CIResult(np.ascontiguousarray(states), np.ascontiguousarray(cov), omega)


_EIGEN_NODES = np.linspace(0.0, 1.0, 33)


def _eigen_covariance_intersection(x_a: FloatArray, p_a: FloatArray, x_b: FloatArray, p_b: FloatArray) -> CIResult:
    """:func:`covariance_intersection` in the joint eigenbasis of the two covariances (any batch size).

    With ``Pa = L L^T`` (Cholesky) and ``L^-1 Pb L^-T = U diag(lam) U^T``, ``T = L U`` diagonalizes both:
    ``Pa = T T^T``, ``Pb = T diag(lam) T^T``. Then ``CI(w) = T diag(lam / d) T^T`` with
    ``d = 1 + w (lam - 1)``, so ``trace(CI(w)) = sum_i a_i / d_i`` with ``a_i = lam_i |T e_i|^2``: four
    scalar terms per pair, convex in ``w``. Its derivative is evaluated on 33 nodes (one elementwise pass);
    the zero of its linear interpolation between the two nodes that bracket the sign change (a secant step)
    starts one Newton step, kept if it stays in the bracket. A batch costs two LAPACK calls (Cholesky,
    symmetric eigendecomposition) and about 40 small elementwise operations, whatever its size. On the SUMO
    scene's pairs the fused trace is within 1e-11 (relative) of its exact minimum (the secant alone: 1e-6; four
    Newton steps from the bracket's midpoint were slower and less accurate); a boundary weight, 0 or 1, where
    one estimate dominates.

    Raises:
        numpy.linalg.LinAlgError: When ``Pa`` is not positive definite (the caller falls back).
    """
    lower = np.linalg.cholesky(p_a)
    lower_inv = np.linalg.inv(lower)
    lam, u = np.linalg.eigh(lower_inv @ p_b @ np.swapaxes(lower_inv, 1, 2))
    lam = np.maximum(lam, 1e-300)
    t = lower @ u
    t_inv = np.swapaxes(u, 1, 2) @ lower_inv
    a = np.einsum("eij,eij->ej", t, t) * lam
    b = lam - 1.0
    minus_ab, two_abb = -a * b, 2.0 * a * b * b  # f'(w) = sum(minus_ab / d^2), f''(w) = sum(two_abb / d^3)
    inv_d = 1.0 / (1.0 + _EIGEN_NODES[None, :, None] * b[:, None, :])
    slopes = np.einsum("ej,ekj->ek", minus_ab, inv_d * inv_d)
    rising = slopes >= 0.0
    first = np.argmax(rising, axis=1)
    at_zero, at_one = rising[:, 0], ~rising.any(axis=1)
    below = np.maximum(first - 1, 0)
    low = _EIGEN_NODES[below]
    high = np.where(at_one, 1.0, _EIGEN_NODES[first])
    rows = np.arange(len(first))
    slope_low, slope_high = slopes[rows, below], slopes[rows, first]
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = np.clip(slope_low / (slope_low - slope_high), 0.0, 1.0)
    omega = low + np.where(np.isfinite(fraction), fraction, 0.5) * (high - low)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        inv_d = 1.0 / (1.0 + omega[:, None] * b)
        inv_d2 = inv_d * inv_d
        newton = omega - np.einsum("ej,ej->e", minus_ab, inv_d2) / np.einsum("ej,ej->e", two_abb, inv_d2 * inv_d)
        omega = np.where((newton >= low) & (newton <= high), newton, omega)
    omega = np.where(at_zero, 0.0, np.where(at_one, 1.0, omega))
    d = 1.0 + omega[:, None] * b
    cov = (t * (lam / d)[:, None, :]) @ np.swapaxes(t, 1, 2)
    y_a, y_b = np.einsum("eij,ej->ei", t_inv, x_a), np.einsum("eij,ej->ei", t_inv, x_b)
    y = (omega[:, None] * lam * y_a + (1.0 - omega)[:, None] * y_b) / d
    states = np.einsum("eij,ej->ei", t, y)
    return CIResult(np.ascontiguousarray(states), 0.5 * (cov + np.swapaxes(cov, 1, 2)), np.ascontiguousarray(omega))


def partial_covariance_intersection(
    x_a: FloatArray, p_a: FloatArray, z_b: FloatArray, r_b: FloatArray, grid_points: int = 16
) -> CIResult:
    """CI of full states ``(E, 4)``/``(E, 4, 4)`` with position-only estimates ``(E, 2)``/``(E, 2, 2)``.

    ``w`` is the best of ``grid_points`` midpoints of (0, 1) and ``w = 1`` (no fusion).
    """
    omegas = (np.arange(grid_points) + 0.5) / grid_points
    scale = omegas / (1.0 - omegas)
    s_inv = inv2(p_a[:, None, :2, :2] + scale[None, :, None, None] * r_b[:, None])[0]
    u = p_a[:, :2, :] @ p_a[:, :, :2]
    reduction = np.einsum("egij,eji->eg", s_inv, u)
    trace_a = np.trace(p_a, axis1=1, axis2=2)
    trace = (trace_a[:, None] - reduction) / omegas[None, :]
    best = np.argmin(trace, axis=1)
    rows = np.arange(len(best))
    fuse = trace[rows, best] < trace_a
    omega = np.where(fuse, omegas[best], 1.0)
    states, cov = x_a.copy(), p_a.copy()
    if np.any(fuse):
        updated, updated_cov = joseph_update(x_a[fuse], p_a[fuse], z_b[fuse], scale[best[fuse], None, None] * r_b[fuse])
        states[fuse] = updated
        cov[fuse] = updated_cov / omega[fuse, None, None]
    return CIResult(states, cov, omega)


@dataclass(frozen=True, slots=True)
class CovarianceIntersectionFuser:
    """The track-to-track fusion role: CI of tracks with RSU estimates, with or without velocity."""

    newton_iterations: int = 4
    grid_points: int = 16

    def fuse(
        self,
        states: FloatArray,
        covs: FloatArray,
        estimates: FloatArray,
        estimate_covs: FloatArray,
        has_velocity: BoolArray,
    ) -> tuple[FloatArray, FloatArray]:
        """Fuse predicted tracks ``(E, 4)``/``(E, 4, 4)`` with estimates ``(E, 4)``/``(E, 4, 4)`` at the same times.

        Rows with ``has_velocity`` False use only the position part of the estimate.
        """
        if has_velocity.all():
            result = covariance_intersection(states, covs, estimates, estimate_covs, self.newton_iterations)
            return result.states, result.covs
        out_states, out_covs = states.copy(), covs.copy()
        full = np.flatnonzero(has_velocity)
        if len(full):
            result = covariance_intersection(
                states[full], covs[full], estimates[full], estimate_covs[full], self.newton_iterations
            )
            out_states[full], out_covs[full] = result.states, result.covs
        partial = np.flatnonzero(~has_velocity)
        result = partial_covariance_intersection(
            states[partial], covs[partial], estimates[partial, :2], estimate_covs[partial, :2, :2], self.grid_points
        )
        out_states[partial], out_covs[partial] = result.states, result.covs
        return out_states, out_covs


_OBJECT_BITS = 43
_OBJECT_MASK = (1 << _OBJECT_BITS) - 1


class TrackLinks:
    """Memory of source track -> global track links, as sorted arrays (no per-link Python objects).

    A key packs a tracker source index (< 2^20) and the source's object id (masked to 43 bits). Links not
    refreshed for ``memory_ms`` are forgotten.
    """

    def __init__(self, memory_ms: int = 3000) -> None:
        """Create an empty memory."""
        self.memory_ms = memory_ms
        self._keys = np.zeros(0, np.int64)
        self._track_ids = np.zeros(0, np.uint64)
        self._times_ms = np.zeros(0, np.int64)

    def __len__(self) -> int:
        return len(self._keys)

    @staticmethod
    def keys(source_index: IntArray, object_ids: IntArray) -> IntArray:
        """Keys ``(M,)`` for source indices and object ids ``(M,)``; -1 where either is negative (no link)."""
        valid = (source_index >= 0) & (object_ids >= 0)
        return np.where(valid, (source_index << _OBJECT_BITS) | (object_ids & _OBJECT_MASK), -1)

    def lookup(self, keys: IntArray) -> np.ndarray[tuple[int], np.dtype[np.uint64]]:
        """Linked global track id per key ``(M,)``, 0 where there is none."""
        if not len(self._keys):
            return np.zeros(len(keys), np.uint64)
        position = np.minimum(np.searchsorted(self._keys, keys), len(self._keys) - 1)
        found = (self._keys[position] == keys) & (keys >= 0)
        return np.where(found, self._track_ids[position], np.uint64(0))

    def record(
        self, keys: IntArray, track_ids: np.ndarray[tuple[int], np.dtype[np.uint64]], times_ms: IntArray
    ) -> None:
        """Link ``keys`` to ``track_ids`` as of ``times_ms`` (all ``(K,)``), replacing older links.

        Keys of -1 are skipped.
        """
        valid = keys >= 0
        keys, track_ids, times_ms = keys[valid], track_ids[valid], times_ms[valid]
        if len(self._keys):
            position = np.minimum(np.searchsorted(self._keys, keys), len(self._keys) - 1)
            known = self._keys[position] == keys
            self._track_ids[position[known]] = track_ids[known]
            self._times_ms[position[known]] = times_ms[known]
            keys, track_ids, times_ms = keys[~known], track_ids[~known], times_ms[~known]
        if len(keys):
            all_keys = np.concatenate([keys, self._keys])
            unique, first = np.unique(all_keys, return_index=True)
            self._keys = unique
            self._track_ids = np.concatenate([track_ids, self._track_ids])[first]
            self._times_ms = np.concatenate([times_ms, self._times_ms])[first]

    def forget_before(self, time_ms: int) -> None:
        """Drop links last refreshed before ``time_ms - memory_ms``."""
        keep = self._times_ms >= time_ms - self.memory_ms
        if not keep.all():
            self._keys, self._track_ids, self._times_ms = self._keys[keep], self._track_ids[keep], self._times_ms[keep]
