"""Shared fixtures: a real Mosquitto broker per test (or per session) and a unique topic per test.

The broker class lives in `tests/broker.py` so that test modules can also start their own.
A missing `mosquitto` binary fails the test (it is never skipped): run `scripts/test`, which
installs it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.broker import MISSING_BINARY_MESSAGE, MosquittoBroker, find_mosquitto


def _running_broker(workdir: Path) -> Iterator[MosquittoBroker]:
    executable = find_mosquitto()
    if executable is None:
        pytest.fail(MISSING_BINARY_MESSAGE, pytrace=False)
    with MosquittoBroker(workdir, executable) as broker:
        yield broker


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[MosquittoBroker]:
    """A fresh broker for this test only; the test may `stop()` and `start()` it."""
    yield from _running_broker(tmp_path / "mosquitto")


@pytest.fixture(scope="session")
def mosquitto_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoBroker]:
    """One broker shared by the whole session: use `unique_topic`, and never stop it."""
    yield from _running_broker(tmp_path_factory.mktemp("mosquitto_session"))


@pytest.fixture
def unique_topic() -> str:
    """A topic prefix no other test uses, such as `test/4f1c...`; append levels to it."""
    return f"test/{uuid.uuid4().hex}"
