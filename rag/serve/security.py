"""Who may use the server: the one middleware every request passes, and the token kept on disk.

A browser lets any website send requests to a server on this machine, so the server, not the
browser, must refuse what a website could do with it:

- **Host.** A DNS-rebinding page (a name of the attacker's that now points at 127.0.0.1) is
  same-origin with the server as far as the browser knows, and could read every answer. Its
  requests carry the attacker's name in ``Host``; the server answers only to the names it was
  bound to: loopback names, the bound address, on a network address any IP address (an IP
  cannot be rebound) and this machine's name, and the names given with ``--allow-host``. Else 421.
- **Writes and answers from other origins.** A request that changes the index or runs the
  model (anything but GET and HEAD) from a browser carries ``Origin``: it must be this server's
  own; ``Sec-Fetch-Site`` must not say cross-site. It must also be one no website can send
  without the browser first asking the server (which answers no CORS preflight): JSON, or the
  per-server CSRF token in ``X-Rag-CSRF`` (the page carries it; scripts read it from
  ``GET /api/session``). Clients that are not browsers send no ``Origin`` and pass.
- **Token.** With a token (on a network address, or ``--token``), every route but the page's
  own files needs it, as ``Authorization: Bearer`` or ``?token=``; any bytes there get 401.

Every reply also says: no sniffing, no framing, no use from other origins' pages.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from rag.serve.http import error

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "localhost.localdomain"})
WILDCARDS = frozenset({"0.0.0.0", "::", ""})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-rag-csrf"
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


def _ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


def split_host(value: str) -> str:
    """The host name of a ``Host`` header or URL authority, without its port, lower case."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value[1:]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


@dataclass(frozen=True)
class Hosts:
    """The names the server answers to (see the module's text)."""

    names: frozenset[str]
    any_ip: bool

    @classmethod
    def for_bind(cls, host: str, allowed: Iterable[str] = ()) -> Hosts:
        bound = split_host(host)
        names = set(LOOPBACK_NAMES) | {split_host(name) for name in allowed if name.strip()}
        wildcard = bound in WILDCARDS
        if not wildcard:
            names.add(bound)
        if wildcard or bound not in LOOPBACK_NAMES:  # on a network: this machine's own names too
            machine = socket.gethostname().lower()
            names |= {machine, f"{machine.split('.')[0]}.local", machine.split(".")[0]}
        return cls(frozenset(names), wildcard)

    def allows(self, host_header: str) -> bool:
        name = split_host(host_header)
        if not name:
            return False
        if name in self.names:
            return True
        address = _ip(name)
        return address is not None and (self.any_ip or address.is_loopback)


@dataclass(frozen=True)
class Policy:
    hosts: Hosts
    token: str | None
    csrf: str


def _is_page_file(path: str) -> bool:
    return path == "/" or path.startswith("/static/")


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def _given_token(scope) -> str:
    auth = _header(scope, b"authorization") or ""
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    query = scope.get("query_string", b"").decode("latin-1")
    return next((value for key, value in parse_qsl(query, keep_blank_values=True) if key == "token"), "")


def same_token(given: str, expected: str) -> bool:
    """Compared as bytes in constant time: any characters at all are simply a wrong token."""
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8"))


def problem(scope, policy: Policy) -> tuple[int, str] | None:
    """Why this request is refused (status, message), or None. Pure over the ASGI scope."""
    host = _header(scope, b"host") or ""
    if not policy.hosts.allows(host):
        name = split_host(host) or "(none)"
        return 421, (
            f"this server does not answer to the name '{name}' (a page of another site may be trying to reach it "
            f"under a name of its own). If '{name}' is this machine, start rag serve with --allow-host {name}"
        )
    path, method = scope.get("path", ""), scope.get("method", "GET")
    if policy.token and not _is_page_file(path) and not same_token(_given_token(scope), policy.token):
        return 401, "this server needs its token: send 'Authorization: Bearer TOKEN' (rag serve printed it)"
    if method in SAFE_METHODS:
        return None
    origin = _header(scope, b"origin")
    if origin is not None and urlsplit(origin).netloc.lower() != host.strip().lower():
        return 403, f"a request from another site ({origin}) may not change the index or use the model"
    if (_header(scope, b"sec-fetch-site") or "same-origin") not in ("same-origin", "none"):
        return 403, "a request from another site may not change the index or use the model"
    kind = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
    has_body = method in ("POST", "PUT", "PATCH")
    if (
        has_body
        and kind != "application/json"
        and not same_token(_header(scope, CSRF_HEADER.encode()) or "", policy.csrf)
    ):
        return 403, (
            "send JSON (Content-Type: application/json), or for an upload the X-Rag-CSRF header with the "
            "value GET /api/session gives"
        )
    return None


class Guard:
    """The ASGI middleware that applies ``problem`` to every HTTP request (MCP included) and
    adds the security headers to every reply. Plain ASGI, not Starlette's BaseHTTPMiddleware,
    which wraps each response in a stream and an extra task: a fifth of the event loop's time
    per search under load (bench/serve.py, profiled)."""

    def __init__(self, app, policy: Policy):
        self.app, self.policy = app, policy

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refused = problem(scope, self.policy)

        async def send_secured(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": list(message.get("headers", [])) + SECURITY_HEADERS}
            await send(message)

        if refused is not None:
            await error(*refused)(scope, receive, send_secured)
            return
        await self.app(scope, receive, send_secured)


TOKEN_FILE = ".serve-token"


def stored_token(index_dir: Path) -> tuple[str, Path]:
    """The token a server on a network address requires: the one kept in ``index_dir`` (mode
    600, so only this user reads it) when there is one, else a new random one, kept there."""
    path = Path(index_dir) / TOKEN_FILE
    try:
        if path.stat().st_mode & 0o077 == 0:
            token = path.read_text(encoding="utf-8").strip()
            if token:
                return token, path
    except OSError:
        pass
    token = secrets.token_urlsafe(16)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)  # a copy others could read is replaced, not reused
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(token + "\n")
    return token, path


def addresses_to_open(host: str, port: int) -> list[str]:
    """The addresses a person can open for a server bound to ``host``: for 0.0.0.0 or ::, this
    machine's loopback address and each of its network addresses (not 0.0.0.0)."""
    if split_host(host) not in WILDCARDS:
        shown = f"[{host}]" if ":" in host else host
        return [f"http://{shown}:{port}/"]
    found = ["127.0.0.1"]
    try:
        for *_, sockaddr in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            address = sockaddr[0]
            if address not in found and not _ip(address).is_loopback:
                found.append(address)
    except OSError:
        pass
    found += [a for a in _interface_addresses() if a not in found]
    return [f"http://{address}:{port}/" for address in found]


def _interface_addresses() -> list[str]:
    """IPv4 addresses of this machine's network interfaces (Linux), read without any traffic."""
    import fcntl
    import struct

    out = []
    try:
        names = [name for _, name in socket.if_nameindex()]
    except OSError:
        return out
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for name in names:
            try:
                packed = fcntl.ioctl(probe.fileno(), 0x8915, struct.pack("256s", name.encode()[:15]))  # SIOCGIFADDR
            except OSError:
                continue
            address = socket.inet_ntoa(packed[20:24])
            if not _ip(address).is_loopback:
                out.append(address)
    return out
