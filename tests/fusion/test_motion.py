"""Motion models and the predictor: mean propagation, process noise and covariance growth."""

from __future__ import annotations

import numpy as np
import pytest

from roadlink.domain.classes import ObjectClass
from roadlink.fusion import ClassMotion, ConstantVelocity, KalmanPredictor, TurningVelocity, default_motion
from roadlink.fusion.motion import predict_position, process_noise


def _states(n: int = 3) -> tuple[np.ndarray, np.ndarray]:
    states = np.array([[0.0, 0.0, 10.0, 0.0], [5.0, -3.0, 0.0, -2.0], [1.0, 1.0, 3.0, 4.0]])[:n]
    covs = np.broadcast_to(np.diag([0.5, 0.5, 1.0, 1.0]), (n, 4, 4)).copy()
    covs[:, 0, 2] = covs[:, 2, 0] = 0.2
    return states, covs


def test_constant_velocity_mean_and_noise_match_closed_form() -> None:
    predictor = KalmanPredictor(ConstantVelocity(q_m2ps3=2.0))
    states, covs = _states()
    dt = np.array([0.1, 0.5, 2.0])
    predicted, cov = predictor.predict(states, covs, dt, np.zeros(3, np.int64))
    np.testing.assert_allclose(predicted[:, :2], states[:, :2] + states[:, 2:] * dt[:, None])
    np.testing.assert_allclose(predicted[:, 2:], states[:, 2:])
    f = np.eye(4)
    f[0, 2] = f[1, 3] = 2.0
    q = 2.0 * np.array([[8 / 3, 0, 2, 0], [0, 8 / 3, 0, 2], [2, 0, 2, 0], [0, 2, 0, 2]])
    np.testing.assert_allclose(cov[2], f @ covs[2] @ f.T + q)


def test_covariance_grows_with_the_interval() -> None:
    predictor = KalmanPredictor(default_motion())
    states, covs = _states()
    classes = np.array([ObjectClass.PASSENGER_CAR, ObjectClass.PEDESTRIAN, ObjectClass.UNKNOWN], dtype=np.int64)
    previous_trace, previous_det = np.trace(covs[:, :2, :2], axis1=1, axis2=2), np.linalg.det(covs)
    for dt in (0.05, 0.1, 0.5, 1.0, 3.0):
        _, cov = predictor.predict(states, covs, np.full(3, dt), classes)
        f = np.eye(4)
        f[0, 2] = f[1, 3] = dt
        # Process noise adds uncertainty on top of the transported covariance F P F^T ...
        assert (np.linalg.eigvalsh(cov - f @ covs @ f.T) >= -1e-12).all()
        # ... so the position variance and the uncertainty volume (det F = 1) grow with the interval.
        trace, det = np.trace(cov[:, :2, :2], axis1=1, axis2=2), np.linalg.det(cov)
        assert (trace > previous_trace).all()
        assert (det > previous_det).all()
        previous_trace, previous_det = trace, det


def test_negative_interval_retrodicts_mean_with_conservative_noise() -> None:
    predictor = KalmanPredictor(ConstantVelocity(1.0))
    states, covs = _states(1)
    back, back_cov = predictor.predict(states, covs, np.array([-0.2]), np.zeros(1, np.int64))
    np.testing.assert_allclose(back[0, :2], states[0, :2] - 0.2 * states[0, 2:])
    backward = process_noise(np.eye(2)[None], np.array([-0.2]))
    np.testing.assert_allclose(backward, process_noise(np.eye(2)[None], np.array([0.2])))
    assert back_cov[0, 2, 2] > covs[0, 2, 2]


def test_position_prediction_equals_block_of_full_prediction() -> None:
    predictor = KalmanPredictor(default_motion())
    states, covs = _states()
    classes = np.array([2, 8, 1], dtype=np.int64)
    dt = np.array([0.3, -0.1, 1.2])
    full, full_cov = predictor.predict(states, covs, dt, classes)
    position, position_cov = predict_position(states, covs, dt, predictor.psd(states, classes))
    np.testing.assert_allclose(position, full[:, :2])
    np.testing.assert_allclose(position_cov, full_cov[:, :2, :2])


def test_turning_noise_is_wider_across_the_heading_at_speed() -> None:
    model = TurningVelocity(q_along_m2ps3=1.0, q_cross_m2ps3=0.5, turn_rate_std_dps=20.0, manoeuvre_interval_s=0.1)
    states = np.array([[0, 0, 15.0, 0.0], [0, 0, 0.0, 3.0], [0, 0, 0.0, 0.0]])
    psd = model.acceleration_psd(states, np.zeros(3, np.int64))
    cross_fast = 0.5 + (15.0 * np.radians(20.0)) ** 2 * 0.1
    np.testing.assert_allclose(psd[0], np.diag([1.0, cross_fast]))
    assert psd[1, 1, 1] == 1.0
    assert psd[1, 0, 0] < cross_fast
    np.testing.assert_allclose(psd[2], np.eye(2))


def test_class_motion_dispatches_per_class() -> None:
    motion = ClassMotion(default=ConstantVelocity(3.0), by_class=((ObjectClass.PEDESTRIAN, ConstantVelocity(0.5)),))
    states = np.zeros((3, 4))
    psd = motion.acceleration_psd(states, np.array([ObjectClass.PEDESTRIAN, ObjectClass.TRUCK, 99], dtype=np.int64))
    assert psd[:, 0, 0].tolist() == [0.5, 3.0, 3.0]


class _Still:
    """A motion model of another kind (no turning parameters): forces the per-model path of ClassMotion."""

    def acceleration_psd(self, states: np.ndarray, object_class: np.ndarray) -> np.ndarray:
        return np.zeros((len(states), 2, 2))


def test_class_motion_with_a_custom_model() -> None:
    motion = ClassMotion(default=ConstantVelocity(3.0), by_class=((ObjectClass.OBSTACLE, _Still()),))
    psd = motion.acceleration_psd(np.zeros((2, 4)), np.array([ObjectClass.OBSTACLE, ObjectClass.BUS], dtype=np.int64))
    assert psd[:, 0, 0].tolist() == [0.0, 3.0]


@pytest.mark.parametrize("count", [1, 5, 24])
def test_stacked_prediction_of_few_tracks_matches_the_entrywise_form(count: int) -> None:
    from roadlink.fusion import motion

    rng = np.random.default_rng(count)
    a, b = rng.normal(size=(count, 4, 4)), rng.normal(size=(count, 2, 2))
    covs, psd = a @ np.swapaxes(a, 1, 2), b @ np.swapaxes(b, 1, 2)
    states, dt = rng.normal(size=(count, 4)), rng.uniform(-0.3, 0.3, count)
    assert count <= motion._SMALL_PREDICT
    few_states, few = motion.predict_state(states, covs, dt, psd)
    many_states, many = motion.predict_state(*(np.concatenate([v] * 30) for v in (states, covs, dt, psd)))
    assert len(many) > motion._SMALL_PREDICT
    np.testing.assert_allclose(few, many[:count], rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(few_states, many_states[:count])
    np.testing.assert_array_equal(few, np.swapaxes(few, 1, 2))
