"""Who may call the server: bearer tokens from the environment and the loopback-only default.

    IKG_API_TOKEN    when set, every endpoint but /health, /docs and /openapi.json needs
                     `Authorization: Bearer <token>`
    IKG_ADMIN_TOKEN  DELETE /users/{id} (forget) needs `Authorization: Bearer <admin token>`;
                     without it set, forgetting over HTTP is disabled

Binding to anything but a loopback address without IKG_API_TOKEN is refused: feedback and
forget would be open to the network. Tokens are compared in constant time and never logged.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from dataclasses import dataclass

API_TOKEN_ENV = "IKG_API_TOKEN"
ADMIN_TOKEN_ENV = "IKG_ADMIN_TOKEN"


class ServeConfigError(ValueError):
    """A server configuration that must not start; the message says how to fix it."""


@dataclass(frozen=True)
class Tokens:
    """The configured bearer tokens (None = not set). `repr` hides them."""

    api: str | None
    admin: str | None

    @classmethod
    def from_env(cls) -> Tokens:
        return cls(os.environ.get(API_TOKEN_ENV) or None, os.environ.get(ADMIN_TOKEN_ENV) or None)

    def __repr__(self) -> str:
        return f"Tokens(api={'set' if self.api else 'unset'}, admin={'set' if self.admin else 'unset'})"

    def allows(self, header: str | None) -> bool:
        """True when the API token is unset, or the header carries the API or the admin token."""
        if self.api is None:
            return True
        given = bearer(header)
        return given is not None and (
            _same(given, self.api) or (self.admin is not None and _same(given, self.admin))
        )

    def allows_admin(self, header: str | None) -> bool:
        given = bearer(header)
        return self.admin is not None and given is not None and _same(given, self.admin)


def bearer(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, tokens: Tokens) -> None:
    """Refuse to serve beyond loopback without a token guarding the write endpoints."""
    if not is_loopback(host) and tokens.api is None:
        raise ServeConfigError(
            f"refusing to bind {host}: beyond loopback, feedback and forget need a bearer token. "
            f"Set {API_TOKEN_ENV} (and {ADMIN_TOKEN_ENV} to allow DELETE /users/{{id}}), "
            "or bind 127.0.0.1 (the default)."
        )
