"""Unit tests of the network guard: address classes, URL checks, pinned connections.

Only literal IPs and a fake ``getaddrinfo``: no external DNS, and no traffic to
anything but 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx
import pytest

from gbfs_ingest import netguard
from gbfs_ingest.fetch import FetchPolicy, make_client
from gbfs_ingest.netguard import BlockedAddress, ResolutionError, check_address, check_url
from tests.httpserver import LocalHTTPServer, Reply

DEFAULT = FetchPolicy()
PRIVATE_OK = FetchPolicy(allow_private_networks=True)


@dataclass(frozen=True)
class _Policy:
    allow_private_networks: bool = False
    allowed_hosts_private: tuple[str, ...] = ()


BLOCKED = {
    # IPv4
    "10.0.0.1": "private",
    "172.16.5.4": "private",
    "192.168.1.1": "private",
    "127.0.0.1": "loopback",
    "127.255.255.254": "loopback",
    "0.0.0.0": "unspecified",
    "169.254.1.1": "link-local",
    "169.254.169.254": "cloud metadata",
    "169.254.170.2": "cloud metadata",
    "100.100.100.200": "cloud metadata",
    "100.64.0.1": "CGNAT",
    "100.127.255.254": "CGNAT",
    "224.0.0.1": "multicast",
    "239.255.255.250": "multicast",
    "240.0.0.1": "private or special-purpose",  # reserved 240/4
    "255.255.255.255": "private or special-purpose",
    "192.0.2.1": "private or special-purpose",  # TEST-NET-1
    "198.18.0.1": "private or special-purpose",  # benchmarking
    # IPv6
    "::1": "loopback",
    "::": "unspecified",
    "fe80::1": "link-local",
    "fc00::1": "private",
    "fd12:3456::1": "private",
    "fd00:ec2::254": "cloud metadata",
    "ff02::1": "multicast",
    "2001:db8::1": "private or special-purpose",  # documentation
    "fec0::1": "site-local",
    # IPv4 embedded in IPv6
    "::ffff:127.0.0.1": "loopback address (IPv4-mapped 127.0.0.1)",
    "::ffff:10.1.2.3": "private or special-purpose address (IPv4-mapped",
    "::ffff:169.254.169.254": "cloud metadata address (IPv4-mapped",
    "::ffff:100.64.1.1": "CGNAT",
    "64:ff9b::a00:1": "NAT64 10.0.0.1",
    "64:ff9b::7f00:1": "loopback",
    "2002:7f00:1::1": "6to4 127.0.0.1",
    "2002:a9fe:a9fe::1": "cloud metadata",
    "::127.0.0.1": "IPv4-compatible 127.0.0.1",
}
PUBLIC = ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "::ffff:8.8.8.8"]


@pytest.mark.parametrize(("address", "reason"), sorted(BLOCKED.items()))
def test_non_public_addresses_are_blocked(address: str, reason: str) -> None:
    problem = netguard.address_problem(ipaddress.ip_address(address))
    assert problem is not None and reason in problem
    with pytest.raises(BlockedAddress, match="not allowed by policy"):
        check_address(address, DEFAULT)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert netguard.address_problem(ipaddress.ip_address(address)) is None
    assert str(check_address(address, DEFAULT)) == str(ipaddress.ip_address(address))


def test_nat64_of_public_ipv4_passes() -> None:
    assert netguard.address_problem(ipaddress.ip_address("64:ff9b::808:808")) is None


@pytest.mark.parametrize("address", ["10.0.0.1", "127.0.0.1", "::1", "100.64.0.1", "fe80::1"])
def test_allow_private_networks_allows_private_classes(address: str) -> None:
    check_address(address, PRIVATE_OK)


@pytest.mark.parametrize(
    "address", ["169.254.169.254", "fd00:ec2::254", "0.0.0.0", "::", "224.0.0.1", "ff02::1"]
)
def test_metadata_unspecified_multicast_stay_blocked_with_private_allowed(address: str) -> None:
    with pytest.raises(BlockedAddress):
        check_address(address, PRIVATE_OK)
    with pytest.raises(BlockedAddress):
        check_address(address, _Policy(allowed_hosts_private=("metadata.internal",)), host="x")


def test_cidr_exceptions() -> None:
    policy = FetchPolicy(allowed_hosts_private=["127.0.0.1", "10.20.0.0/16", "fd00:1::/32"])
    check_address("127.0.0.1", policy)
    check_address("::ffff:127.0.0.1", policy)  # the mapped form of an allowed address
    check_address("10.20.3.4", policy)
    check_address("fd00:1::5", policy)
    for address in ("127.0.0.2", "10.21.0.1", "::1", "192.168.0.1"):
        with pytest.raises(BlockedAddress):
            check_address(address, policy)
    # Only an explicit IP/CIDR lifts the metadata block.
    check_address("169.254.169.254", FetchPolicy(allowed_hosts_private=["169.254.169.254/32"]))


def test_host_name_exception_applies_to_that_host_only() -> None:
    policy = FetchPolicy(allowed_hosts_private=["Feeds.Internal."])
    check_address("10.0.0.5", policy, host="feeds.internal")
    with pytest.raises(BlockedAddress, match=r"'other\.internal' \(10\.0\.0\.5\)"):
        check_address("10.0.0.5", policy, host="other.internal")


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "not a host", "", "a/b"])
def test_invalid_exceptions_are_rejected_early(entry: str) -> None:
    with pytest.raises(ValueError):
        FetchPolicy(allowed_hosts_private=[entry])


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file:///etc/passwd", "scheme 'file'"),
        ("ftp://8.8.8.8/x", "scheme 'ftp'"),
        ("gopher://8.8.8.8/", "scheme 'gopher'"),
        ("javascript:alert(1)", "scheme 'javascript'"),
        ("http://user:pass@8.8.8.8/", "embedded credentials"),
        ("http://user@8.8.8.8/", "embedded credentials"),
        ("http:///path", "no host"),
        ("http://[::1]:8080/gbfs.json", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("https://[fd00:ec2::254]/", "cloud metadata"),
        ("http://[::ffff:a9fe:a9fe]/", "cloud metadata"),
        ("http://0.0.0.0:80/", "unspecified"),
    ],
)
def test_check_url_refusals(url: str, message: str) -> None:
    with pytest.raises(BlockedAddress, match=message):
        check_url(url, DEFAULT)


def test_check_url_does_not_echo_credentials() -> None:
    with pytest.raises(BlockedAddress) as info:
        check_url("https://alice:hunter2-secret@8.8.8.8/gbfs.json", DEFAULT)
    assert "hunter2" not in str(info.value)


def test_check_url_public_literal_needs_no_dns() -> None:
    assert check_url("https://8.8.8.8/gbfs.json", DEFAULT) == ["8.8.8.8"]
    assert check_url("http://[2606:4700:4700::1111]:8080/", DEFAULT) == ["2606:4700:4700::1111"]


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[list[str]]]:
    """Answers per host name, consumed in turn (the last repeats); records lookups."""
    answers: dict[str, list[list[str]]] = {}
    lookups: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host not in answers:
            if host in ("localhost", "127.0.0.1"):  # socket.create_connection() looks IPs up
                return real(host, port, *args, **kwargs)
            _fail()
        lookups.append(host)
        queue = answers[host]
        ips = queue.pop(0) if len(queue) > 1 else queue[0]
        return [
            (
                socket.AF_INET6 if ":" in ip else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (ip, port, 0, 0) if ":" in ip else (ip, port),
            )
            for ip in ips
        ]

    def _fail() -> None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    answers["__lookups__"] = lookups  # type: ignore[assignment]
    return answers


def test_every_resolved_address_must_be_allowed(fake_dns: dict[str, Any]) -> None:
    fake_dns["mixed.example"] = [["93.184.216.34", "10.0.0.7"]]
    with pytest.raises(BlockedAddress, match=r"'mixed\.example' \(10\.0\.0\.7\): private"):
        check_url("https://mixed.example/gbfs.json", DEFAULT)
    fake_dns["public.example"] = [["93.184.216.34", "2606:2800:220:1::1", "93.184.216.34"]]
    assert check_url("https://public.example/", DEFAULT) == ["93.184.216.34", "2606:2800:220:1::1"]


def test_resolution_failure(fake_dns: dict[str, Any]) -> None:
    with pytest.raises(ResolutionError, match=r"cannot resolve 'nowhere\.invalid'"):
        check_url("https://nowhere.invalid/", DEFAULT, timeout=1.0)


def test_resolution_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    def slow(*args: Any, **kwargs: Any) -> list[Any]:
        import time

        time.sleep(0.5)
        return []

    monkeypatch.setattr(socket, "getaddrinfo", slow)
    with pytest.raises(ResolutionError, match="timed out"):
        check_url("https://slow.example/", DEFAULT, timeout=0.05)


# -- pinned connections (DNS rebinding) ------------------------------------------------


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Hosts handed to the real socket layer (must only ever be 127.0.0.1)."""
    seen: list[str] = []
    real = httpcore.SyncBackend.connect_tcp

    def spy(self: Any, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        seen.append(host)
        assert host == "127.0.0.1", f"test tried to connect to {host}"
        return real(self, host, port, *args, **kwargs)

    monkeypatch.setattr(httpcore.SyncBackend, "connect_tcp", spy)
    return seen


def test_backend_resolves_and_checks_when_nothing_is_pinned(
    fake_dns: dict[str, Any], connects: list[str]
) -> None:
    fake_dns["rebind.example"] = [["10.0.0.1"]]
    backend = netguard.GuardedNetworkBackend(DEFAULT)
    with pytest.raises(BlockedAddress, match="private"):
        backend.connect_tcp("rebind.example", 80, timeout=1.0)
    assert connects == []


def test_backend_connects_to_pinned_address_without_new_lookup(
    fake_dns: dict[str, Any], connects: list[str]
) -> None:
    policy = FetchPolicy(allowed_hosts_private=["127.0.0.1"])
    with LocalHTTPServer() as server:
        server.route("/", Reply(body=b"hello"))
        # First answer (checked): 127.0.0.1; any later answer would be the attacker's.
        fake_dns["rebind.example"] = [["127.0.0.1"], ["10.0.0.1"]]
        url = f"http://rebind.example:{server.port}/"
        with make_client(policy) as client, netguard.guard_context(policy) as pins:
            pins["rebind.example"] = tuple(check_url(url, policy))
            for _ in range(2):
                response = client.get(url)
                assert response.content == b"hello"
        assert fake_dns["__lookups__"] == ["rebind.example"]  # one lookup, the checked one
        assert connects == ["127.0.0.1"]  # pooled: one connection, to the checked address
        # Host header keeps the name (SNI and certificate checks would too).
        assert server.requests[0].headers["host"] == f"rebind.example:{server.port}"


def test_client_without_pins_still_checks_at_connect(
    fake_dns: dict[str, Any], connects: list[str]
) -> None:
    fake_dns["rebind.example"] = [["169.254.169.254"]]
    with make_client(FetchPolicy()) as client, pytest.raises(BlockedAddress):
        client.get("http://rebind.example/latest/meta-data/")
    assert connects == []


def test_guarded_transport_replaces_the_pool_backend() -> None:
    transport = netguard.GuardedTransport(DEFAULT, limits=httpx.Limits())
    pool = transport._pool
    assert isinstance(pool, httpcore.ConnectionPool)
    assert isinstance(pool._network_backend, netguard.GuardedNetworkBackend)
    transport.close()
