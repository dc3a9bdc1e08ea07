"""Transport failures are told to callers in plain words: problem details are read by people."""

from __future__ import annotations

import httpx
import pytest

from app.http_pool import failure_in_words


@pytest.mark.parametrize(
    ("failure", "words"),
    [
        (httpx.ConnectError, "could not connect"),
        (httpx.ConnectTimeout, "could not connect in time"),
        (httpx.ReadTimeout, "no answer in time"),
        (httpx.WriteTimeout, "no answer in time"),
        (httpx.PoolTimeout, "no free connection in time"),
        (httpx.ReadError, "the connection broke"),
        (httpx.WriteError, "the connection broke"),
        (httpx.CloseError, "the connection broke"),
        (httpx.RemoteProtocolError, "the connection broke or the answer was not valid HTTP"),
        (httpx.ProxyError, "could not connect through the proxy"),
        (httpx.LocalProtocolError, "the request failed"),
    ],
)
def test_each_transport_failure_has_its_words(failure: type[httpx.HTTPError], words: str) -> None:
    described = failure_in_words(failure("at http://secret.example/path"))
    assert described == words
    assert failure.__name__ not in described
    assert "secret.example" not in described
