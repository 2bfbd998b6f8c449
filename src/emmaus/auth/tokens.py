"""JWT access tokens (HS256) and their signing key.

Claims follow Gloo's Cognito tokens (spec §1.2): `sub` = `client_id`, `scope` (space-separated),
`iat`, `exp`, `jti`, `token_use: "access"`, `iss`. Only HS256 is accepted; `none`, RS256 and any
other header are refused before the signature is even considered.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import jwt

from emmaus.config import Settings

log = logging.getLogger(__name__)

ALGORITHM = "HS256"
KEY_FILE = "jwt.key"
MIN_KEY_LENGTH = 32
MAX_TOKEN_LENGTH = 4096
_REQUIRED = ["exp", "iat", "iss", "sub", "scope", "jti", "client_id", "token_use"]


def _reason(exc: jwt.InvalidTokenError) -> str:
    """Why a token was refused, in words a caller can act on (never the decoder's own text,
    which describes base64 padding and JSON segments)."""
    if isinstance(exc, jwt.InvalidSignatureError):  # a DecodeError too: checked first
        return "Invalid token: its signature does not match this server's key"
    if isinstance(exc, jwt.InvalidAlgorithmError):
        return "Invalid token: signed with an algorithm this server does not accept"
    if isinstance(exc, jwt.DecodeError):
        return "Malformed token: not a JWT; send the access_token that POST /oauth2/token returns"
    if isinstance(exc, jwt.InvalidIssuerError):
        return "Invalid token: issued by another server"
    if isinstance(exc, jwt.ImmatureSignatureError):
        return "Invalid token: not valid yet"
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return f"Invalid token: the {exc.claim!r} claim is missing"
    return "Invalid token"


class TokenError(Exception):
    """The bearer token cannot be trusted; `code` goes into the 401 body."""

    code = "unauthorized"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TokenExpired(TokenError):
    code = "token_expired"


@dataclass(frozen=True, slots=True)
class AccessClaims:
    client_id: str
    scopes: frozenset[str]
    jti: str
    issued_at: int
    expires_at: int


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in: int
    claims: AccessClaims


def load_signing_key(settings: Settings) -> bytes:
    """`EMMAUS_JWT_SECRET`, or `<data_dir>/jwt.key` (created once, mode 0600) so tokens survive a
    restart. Instances behind one load balancer must share the key through configuration."""
    if settings.jwt_secret is not None:
        value = settings.jwt_secret.get_secret_value()
        if len(value) < MIN_KEY_LENGTH:
            raise ValueError(f"EMMAUS_JWT_SECRET must be at least {MIN_KEY_LENGTH} characters")
        return value.encode()
    return _key_file(Path(settings.data_dir) / KEY_FILE).encode()


def _key_file(path: Path) -> str:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write a complete temporary file, then link it into place: two instances starting
        # together agree on one key and nobody ever reads a half-written file.
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(64) + "\n")
            try:
                os.link(tmp, path)
                log.info("generated a new token signing key in %s", path)
            except FileExistsError:
                pass
        finally:
            tmp.unlink(missing_ok=True)
    if path.stat().st_mode & 0o077:
        log.warning("%s is readable by other users; chmod 600 it", path)
    key = path.read_text().strip()
    if len(key) < MIN_KEY_LENGTH:
        raise ValueError(f"{path} holds a key shorter than {MIN_KEY_LENGTH} characters")
    return key


VERIFIED_CACHE_SIZE = 4096


class TokenService:
    def __init__(
        self, key: bytes, *, issuer: str = "emmaus", ttl: int = 3600, leeway: float = 5.0
    ) -> None:
        self._key = key
        self.issuer = issuer
        self.ttl = ttl
        self.leeway = leeway
        # Tokens already verified, by their exact text: a client reuses its token for an hour,
        # and decoding + HMAC on every request was a sixth of the request path's CPU.
        self._verified: dict[str, AccessClaims] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenService:
        return cls(
            load_signing_key(settings),
            issuer=settings.jwt_issuer,
            ttl=settings.token_ttl,
            leeway=settings.jwt_leeway,
        )

    def issue(self, client_id: str, scopes: Iterable[str]) -> IssuedToken:
        now = int(time.time())
        claims = AccessClaims(
            client_id=client_id,
            scopes=frozenset(scopes),
            jti=str(uuid.uuid4()),
            issued_at=now,
            expires_at=now + self.ttl,
        )
        payload = {
            "sub": client_id,
            "client_id": client_id,
            "token_use": "access",
            "scope": " ".join(sorted(claims.scopes)),
            "iss": self.issuer,
            "iat": now,
            "exp": claims.expires_at,
            "jti": claims.jti,
        }
        token = jwt.encode(payload, self._key, algorithm=ALGORITHM)
        return IssuedToken(token, self.ttl, claims)

    def verify(self, token: str) -> AccessClaims:
        if len(token) > MAX_TOKEN_LENGTH:
            raise TokenError("Invalid token")
        cached = self._verified.get(token)
        if cached is not None:
            if time.time() < cached.expires_at + self.leeway:
                return cached
            del self._verified[token]
        claims = self._decode(token)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = claims
        return claims

    def _decode(self, token: str) -> AccessClaims:
        try:
            payload = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": _REQUIRED},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenExpired("Token expired") from exc
        except jwt.InvalidTokenError as exc:
            raise TokenError(_reason(exc)) from exc
        client_id, scope = payload["client_id"], payload["scope"]
        if (
            payload["token_use"] != "access"
            or payload["sub"] != client_id
            or not isinstance(client_id, str)
            or not isinstance(scope, str)
            or not isinstance(payload["jti"], str)
        ):
            raise TokenError("Invalid token: unexpected claims")
        return AccessClaims(
            client_id=client_id,
            scopes=frozenset(scope.split()),
            jti=payload["jti"],
            issued_at=int(payload["iat"]),
            expires_at=int(payload["exp"]),
        )
