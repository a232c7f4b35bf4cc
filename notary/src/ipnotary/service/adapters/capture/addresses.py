"""Which network addresses a capture may reach: every public address, and of the private,
loopback, link-local and other special ranges only those the operator allowed.

Pure rules, no I/O. The capture proxy (:mod:`.proxy`) asks :meth:`AddressPolicy.refusal` about
every address a host resolved to, before it opens a connection, for the page, each redirect and
each subresource alike; the service asks it about the URL's own host before a browser starts.
A crafted URL (``http://169.254.169.254/``, a name that resolves to ``10.0.0.1``, a redirect to
``http://localhost/``) therefore cannot make the service reach its own network.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["DEFAULT_REFUSED", "AddressPolicy", "IPAddress", "IPNetwork"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# What is refused unless allowed: everything that is not the public internet (RFC 6890's special
# purpose registries), named so that a refusal says which range the address fell in.
DEFAULT_REFUSED: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "this network"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "shared address space (carrier-grade NAT)"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local (cloud metadata services live here)"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "IETF protocol assignments"),
    ("192.0.2.0/24", "documentation"),
    ("192.88.99.0/24", "6to4 relay anycast"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("::ffff:0:0/96", "IPv4-mapped"),
    ("64:ff9b::/96", "IPv4/IPv6 translation"),
    ("100::/64", "discard-only"),
    ("2001::/23", "IETF protocol assignments"),
    ("2001:db8::/32", "documentation"),
    ("fc00::/7", "unique local (private)"),
    ("fe80::/10", "link-local"),
    ("ff00::/8", "multicast"),
)


@dataclass(frozen=True)
class AddressPolicy:
    """Refuses the special ranges except the ``allowed`` networks (``NOTARY_CAPTURE_ALLOW``)."""

    allowed: tuple[IPNetwork, ...] = ()

    @classmethod
    def allowing(cls, networks: Iterable[IPNetwork | str]) -> AddressPolicy:
        return cls(tuple(ipaddress.ip_network(n, strict=False) for n in networks))

    def refusal(self, address: IPAddress | str) -> str | None:
        """None if a capture may connect to ``address``; otherwise why not, in one sentence."""
        ip = ipaddress.ip_address(address)
        mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
        if mapped is not None:  # ::ffff:10.0.0.1 is 10.0.0.1 to the kernel
            ip = mapped
        if any(ip.version == net.version and ip in net for net in self.allowed):
            return None
        for network, name in DEFAULT_REFUSED:
            net = ipaddress.ip_network(network)
            if ip.version == net.version and ip in net:
                allowed = ", ".join(str(n) for n in self.allowed) or "none"
                return (
                    f"{ip} is in {net} ({name}), which this service does not capture from "
                    f"(the operator allows: {allowed}; NOTARY_CAPTURE_ALLOW)"
                )
        return None

    def describe(self) -> list[str]:
        """The networks allowed besides the public internet, as the provenance records them."""
        return [str(n) for n in self.allowed]
