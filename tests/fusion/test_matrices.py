"""Closed-form small-matrix algebra against numpy.linalg."""

from __future__ import annotations

import numpy as np

from roadlink.fusion.matrices import (
    aos4,
    inv2,
    inv4,
    invert4,
    lambda_max2,
    quadratic_form,
    soa4,
    soa_inv4,
    soa_matmul,
    soa_matvec,
    soa_trace,
    symmetrize,
)


def _spd(rng: np.random.Generator, shape: tuple[int, ...], n: int) -> np.ndarray:
    a = rng.normal(size=(*shape, n, n))
    return np.asarray(a @ np.swapaxes(a, -1, -2) + 0.1 * np.eye(n))


def test_inv2_and_inv4_match_numpy() -> None:
    rng = np.random.default_rng(0)
    for n, invert in ((2, inv2), (4, inv4)):
        matrices = _spd(rng, (3, 50), n)
        inverse, det = invert(matrices)
        np.testing.assert_allclose(inverse, np.linalg.inv(matrices), rtol=1e-8, atol=1e-8)
        np.testing.assert_allclose(det, np.linalg.det(matrices), rtol=1e-10)


def test_inv4_of_a_general_matrix() -> None:
    rng = np.random.default_rng(1)
    matrices = rng.normal(size=(100, 4, 4)) + 3 * np.eye(4)
    np.testing.assert_allclose(inv4(matrices)[0] @ matrices, np.broadcast_to(np.eye(4), (100, 4, 4)), atol=1e-9)


def test_lambda_max2_quadratic_form_and_symmetrize() -> None:
    rng = np.random.default_rng(2)
    matrices = _spd(rng, (40,), 2)
    np.testing.assert_allclose(lambda_max2(matrices), np.linalg.eigvalsh(matrices)[:, -1], rtol=1e-12)
    v = rng.normal(size=(40, 2))
    np.testing.assert_allclose(quadratic_form(v, matrices), np.einsum("ni,nij,nj->n", v, matrices, v))
    skewed = matrices + np.array([[0.0, 1e-3], [0.0, 0.0]])
    assert np.array_equal(symmetrize(skewed), np.swapaxes(symmetrize(skewed), -1, -2))


def test_invert4_small_and_large_stacks() -> None:
    rng = np.random.default_rng(3)
    for count in (5, 1000):
        matrices = _spd(rng, (count,), 4)
        np.testing.assert_allclose(invert4(matrices), np.linalg.inv(matrices), rtol=1e-8, atol=1e-8)


def test_struct_of_arrays_products_and_inverses_match_numpy() -> None:
    rng = np.random.default_rng(5)
    a = rng.normal(size=(300, 4, 4)) + 4.0 * np.eye(4)
    b = rng.normal(size=(300, 4, 4))
    x = rng.normal(size=(300, 4))
    sa, sb = soa4(a), soa4(b)
    assert sa.shape == (4, 4, 300)
    assert sa.flags["C_CONTIGUOUS"]
    np.testing.assert_allclose(aos4(soa_matmul(sa, sb)), a @ b, atol=1e-12)
    np.testing.assert_allclose(soa_matvec(sa, x.T).T, np.einsum("eij,ej->ei", a, x), atol=1e-12)
    np.testing.assert_allclose(aos4(soa_inv4(sa)), np.linalg.inv(a), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(soa_trace(sa), np.trace(a, axis1=1, axis2=2))
    np.testing.assert_array_equal(aos4(sa), a)
