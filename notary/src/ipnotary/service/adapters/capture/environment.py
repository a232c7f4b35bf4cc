"""The clean-environment check recorded with every capture: what could have made the browser see
something other than what the server sent (the Online Litigation Rules ask whether the capture
environment was clean), checked on this machine just before the capture.

Each check says what it looked at and whether it passed; a failed check does not stop the
capture (the page may be gone tomorrow) but is in the record, so a court sees it:

- ``hosts_file``: /etc/hosts maps no name besides the loopback defaults (the capture resolves
  through DNS itself, not the hosts file; a mapping is reported anyway);
- ``proxy_settings``: no proxy variables in the service's environment (the browser is started
  with the capture proxy alone, which connects directly);
- ``dns_servers``: the servers every name was resolved at, and that they are the configured ones;
- ``clock``: the service's clock against a TSA's time-stamp or a configured reference;
- ``browser_extensions``: no extension is loaded (none are allowed, and the browser's targets
  show none);
- ``fresh_profile``: the browser ran in a profile directory created empty for this capture.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Check", "check_hosts_file", "check_proxy_settings", "resolv_conf_nameservers"]

HOSTS_FILE = Path("/etc/hosts")
RESOLV_CONF = Path("/etc/resolv.conf")
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "ftp_proxy", "no_proxy")
_LOOPBACK_NAMES = {
    "localhost",
    "localhost.localdomain",
    "localhost4",
    "localhost6",
    "ip6-localhost",
    "ip6-loopback",
    "ip6-localnet",
    "ip6-mcastprefix",
    "ip6-allnodes",
    "ip6-allrouters",
    "localhost4.localdomain4",
    "localhost6.localdomain6",
}


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str
    facts: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "detail": self.detail, **self.facts}


def check_hosts_file(path: Path = HOSTS_FILE) -> Check:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return Check("hosts_file", True, f"{path} cannot be read ({exc}): nothing maps names", {})
    extra = []
    hostname = os.uname().nodename.lower()
    for line in raw.decode("utf-8", "replace").splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) < 2:
            continue
        names = [n.lower() for n in fields[1:]]
        # Docker and Debian write the machine's own name beside its address: not a redirection
        if all(
            n in _LOOPBACK_NAMES or n == hostname or n.startswith(hostname + ".") for n in names
        ):
            continue
        extra.append(" ".join(fields))
    facts = {"path": str(path), "sha256": hashlib.sha256(raw).hexdigest(), "entries": extra}
    if extra:
        return Check(
            "hosts_file",
            False,
            f"{path} maps names besides the loopback defaults; the capture resolved through DNS "
            "and did not read it",
            facts,
        )
    return Check("hosts_file", True, f"{path} maps only the loopback defaults", facts)


def check_proxy_settings(environ: dict[str, str] | None = None) -> Check:
    env = dict(os.environ if environ is None else environ)
    found = sorted(k for k in env if k.lower() in PROXY_VARIABLES)
    facts = {"variables": found}
    if found:
        return Check(
            "proxy_settings",
            False,
            f"the service's environment sets {', '.join(found)}; the capture's browser was "
            "started with the capture proxy only, which connects directly",
            facts,
        )
    return Check(
        "proxy_settings",
        True,
        "no proxy is configured; the browser reached servers only through the capture proxy, "
        "which connects directly",
        facts,
    )


def resolv_conf_nameservers(path: Path = RESOLV_CONF) -> list[str]:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return []
    return [
        line.split()[1]
        for line in text.splitlines()
        if line.startswith("nameserver") and len(line.split()) > 1
    ]
