"""Shared fixtures. Every test module declares its tier with pytestmark (unit or integration)."""

from datetime import UTC, datetime

import pytest

from mash_cli.synthetic import Generator


@pytest.fixture
def generator() -> Generator:
    return Generator(seed=11)


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # a Friday
