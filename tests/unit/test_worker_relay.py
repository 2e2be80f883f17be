"""What crosses the hop between replicas: an upstream error keeps its class and structure (never
read back from its message), and one gateway alone relays nothing."""

from __future__ import annotations

import pytest

from gateway.upstream.flow import errors as up
from gateway.upstream.flow.worker_relay import (
    ERROR_CLASSES,
    Lane,
    LocalRelay,
    error_from_wire,
    error_to_wire,
)


@pytest.mark.parametrize(
    "cls", sorted(ERROR_CLASSES.values(), key=lambda c: c.__name__), ids=lambda c: c.__name__
)
def test_every_upstream_error_crosses_with_its_class_and_fields(cls: type[up.UpstreamError]) -> None:
    google = up.GoogleError(429, "RESOURCE_EXHAUSTED", ("PUBLIC_ERROR_USER_QUOTA_EXCEEDED",))
    sent = cls("whatever the text says", endpoint="batch.ogiZ0b", error=google, retry_after=12.5)
    got = error_from_wire(error_to_wire(sent))
    assert type(got) is cls
    assert (got.endpoint, got.error, got.retry_after, got.reason) == (
        "batch.ogiZ0b",
        google,
        12.5,
        "PUBLIC_ERROR_USER_QUOTA_EXCEEDED",
    )


def test_the_kind_decides_not_the_message() -> None:
    wire = error_to_wire(up.UpstreamTimeoutError("UpstreamWorkerGoneError: worker disconnected"))
    assert type(error_from_wire(wire)) is up.UpstreamTimeoutError


@pytest.mark.parametrize("wire", [{"kind": "SomethingNewerError"}, {}, None, "text"])
def test_an_unknown_kind_is_never_sent_again(wire: object) -> None:
    # Another version mid-upgrade: the call may have run, so it fails as a departed worker's does.
    assert type(error_from_wire(wire)) is up.UpstreamWorkerGoneError


async def test_one_gateway_relays_nothing() -> None:
    relay = LocalRelay()
    message = {"type": "call", "op": "batchexecute", "rpcid": "ogiZ0b"}
    with pytest.raises(up.UpstreamWorkerGoneError) as info:
        await relay.call("acct-1", message, lane=Lane.GENERATE, seconds=1.0)
    assert info.value.endpoint == "batch.ogiZ0b"
    assert relay.project_of("acct-1") is None
    assert relay.remote() == []
