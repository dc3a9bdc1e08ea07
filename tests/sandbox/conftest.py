"""Fixtures for the commercetools sandbox's own tests: one app per session, reset around every test."""

from collections.abc import AsyncIterator, Iterator

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.sandbox.commercetools import SandboxState, create_commercetools_sandbox
from app.sandbox.commercetools.dataset import Dataset
from tests.sandbox.calls import bearer, fetch_token


@pytest.fixture(scope="session")
def ct_app() -> Litestar:
    # Building the data set takes a few hundred milliseconds; one app serves the whole session.
    return create_commercetools_sandbox()


@pytest.fixture(scope="session")
def ct_dataset(ct_app: Litestar) -> Dataset:
    dataset: Dataset = ct_app.state.sandbox.dataset
    return dataset


@pytest.fixture
def ct_state(ct_app: Litestar) -> Iterator[SandboxState]:
    state: SandboxState = ct_app.state.sandbox
    state.reset()
    yield state
    state.reset()


@pytest.fixture
async def ct_client(ct_app: Litestar, ct_state: SandboxState) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(ct_app) as client:
        yield client


@pytest.fixture
async def admin(ct_client: AsyncTestClient[Litestar]) -> dict[str, str]:
    """Headers with a `manage_project` token."""
    return bearer(await fetch_token(ct_client))
