"""The capture's address policy: what a crafted URL, name or redirect might aim at is refused,
with the range it fell in; what the operator allows, and the public internet, are not."""

from __future__ import annotations

import pytest

from ipnotary.service.adapters.capture.addresses import AddressPolicy

REFUSED = [
    ("127.0.0.1", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "link-local (cloud metadata services live here)"),
    ("100.64.0.1", "shared address space (carrier-grade NAT)"),
    ("0.0.0.0", "this network"),  # noqa: S104 - an address refused, not one bound
    ("::1", "loopback"),
    ("fe80::1", "link-local"),
    ("fd00::1", "unique local (private)"),
    ("::ffff:10.0.0.1", "private"),  # IPv4-mapped: the kernel connects to 10.0.0.1
]


@pytest.mark.parametrize(("address", "name"), REFUSED)
def test_special_ranges_are_refused_by_default(address: str, name: str) -> None:
    refusal = AddressPolicy().refusal(address)
    assert refusal is not None and f"({name})" in refusal
    assert "NOTARY_CAPTURE_ALLOW" in refusal


def test_public_addresses_pass() -> None:
    for address in ("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "1.1.1.1"):
        assert AddressPolicy().refusal(address) is None


def test_only_what_the_operator_allows_passes() -> None:
    policy = AddressPolicy.allowing(["127.0.0.1/32"])
    assert policy.refusal("127.0.0.1") is None
    refusal = policy.refusal("127.0.0.2")
    assert refusal is not None and "allows: 127.0.0.1/32" in refusal
    assert policy.describe() == ["127.0.0.1/32"]
