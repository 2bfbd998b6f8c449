"""JWT access tokens: claims, expiry, and every kind of token that must be refused."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest

from emmaus.auth.tokens import (
    TokenError,
    TokenExpired,
    TokenService,
    load_signing_key,
)
from emmaus.config import Settings

KEY = b"k" * 64


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(service: TokenService, **overrides: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": "emc_x",
        "client_id": "emc_x",
        "token_use": "access",
        "scope": "api/access",
        "iss": service.issuer,
        "iat": now,
        "exp": now + 60,
        "jti": "j",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def test_issue_and_verify_claims() -> None:
    service = TokenService(KEY, issuer="emmaus-test", ttl=3600)
    issued = service.issue("emc_abc", ["api/access"])
    assert issued.expires_in == 3600
    payload = jwt.decode(issued.access_token, KEY, algorithms=["HS256"], issuer="emmaus-test")
    assert payload["sub"] == payload["client_id"] == "emc_abc"
    assert payload["scope"] == "api/access"
    assert payload["token_use"] == "access"
    assert payload["exp"] - payload["iat"] == 3600
    assert jwt.get_unverified_header(issued.access_token)["alg"] == "HS256"
    claims = service.verify(issued.access_token)
    assert claims.client_id == "emc_abc"
    assert claims.scopes == {"api/access"}
    assert claims.jti == payload["jti"]
    other = service.issue("emc_abc", ["api/access"])
    assert service.verify(other.access_token).jti != claims.jti


def test_expired_token() -> None:
    service = TokenService(KEY, ttl=1, leeway=0)
    token = jwt.encode(_claims(service, iat=int(time.time()) - 10, exp=int(time.time()) - 1), KEY)
    with pytest.raises(TokenExpired) as caught:
        service.verify(token)
    assert caught.value.code == "token_expired"


def test_a_verified_token_still_expires() -> None:
    service = TokenService(KEY, ttl=1, leeway=0)
    token = service.issue("emc_abc", ["api/access"]).access_token
    assert service.verify(token).client_id == "emc_abc"
    assert service.verify(token).client_id == "emc_abc"  # from the verified-token cache
    time.sleep(2.05)
    with pytest.raises(TokenExpired):
        service.verify(token)


def test_leeway_tolerates_small_clock_skew() -> None:
    service = TokenService(KEY, leeway=5)
    token = jwt.encode(_claims(service, iat=int(time.time()) + 3), KEY)  # another instance ahead
    assert service.verify(token).client_id == "emc_x"


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda s: jwt.encode(_claims(s), b"w" * 64), id="forged-wrong-key"),
        pytest.param(
            lambda s: f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(s))}.", id="alg-none"
        ),
        pytest.param(
            lambda s: f"{_b64({'alg': 'RS256', 'typ': 'JWT'})}.{_b64(_claims(s))}.c2ln",
            id="alg-rs256-header",
        ),
        pytest.param(lambda s: jwt.encode(_claims(s), KEY, algorithm="HS512"), id="alg-hs512"),
        pytest.param(lambda s: "not.a.jwt", id="malformed"),
        pytest.param(lambda s: "abc", id="garbage"),
        pytest.param(lambda s: "", id="empty"),
        pytest.param(lambda s: "x" * 5000, id="huge"),
        pytest.param(lambda s: jwt.encode(_claims(s, scope=None), KEY), id="no-scope"),
        pytest.param(lambda s: jwt.encode(_claims(s, sub=None), KEY), id="no-sub"),
        pytest.param(lambda s: jwt.encode(_claims(s, exp=None), KEY), id="no-exp"),
        pytest.param(lambda s: jwt.encode(_claims(s, iss="someone"), KEY), id="wrong-issuer"),
        pytest.param(lambda s: jwt.encode(_claims(s, sub="emc_other"), KEY), id="sub-mismatch"),
        pytest.param(lambda s: jwt.encode(_claims(s, token_use="id"), KEY), id="id-token"),
        pytest.param(lambda s: jwt.encode(_claims(s, scope=["api/access"]), KEY), id="scope-list"),
        pytest.param(
            lambda s: jwt.encode(_claims(s, iat=int(time.time()) + 600), KEY), id="issued-later"
        ),
    ],
)
def test_untrusted_tokens_are_refused(make) -> None:  # type: ignore[no-untyped-def]
    service = TokenService(KEY)
    with pytest.raises(TokenError) as caught:
        service.verify(make(service))
    assert caught.value.code == "unauthorized"


def test_configured_secret_is_used_and_must_be_long(tmp_path: Path) -> None:
    assert load_signing_key(Settings(data_dir=tmp_path, jwt_secret="s" * 32)) == b"s" * 32
    with pytest.raises(ValueError, match="at least 32"):
        load_signing_key(Settings(data_dir=tmp_path, jwt_secret="short"))
    assert not (tmp_path / "jwt.key").exists()


def test_generated_key_persists_with_mode_0600(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    first = load_signing_key(settings)
    path = tmp_path / "data" / "jwt.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 64
    assert load_signing_key(settings) == first  # a restart keeps the key: tokens survive
    token = TokenService(first).issue("emc_a", ["api/access"]).access_token
    assert TokenService(load_signing_key(settings)).verify(token).client_id == "emc_a"


def test_instances_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from emmaus.config import Settings;"
        "from emmaus.auth.tokens import load_signing_key;"
        "print(load_signing_key(Settings(data_dir=Path(sys.argv[1]))).decode())"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, env=env
        )
        for _ in range(3)
    ]
    keys = {proc.communicate(timeout=60)[0].strip() for proc in procs}
    assert len(keys) == 1
    assert keys == {(tmp_path / "jwt.key").read_bytes().strip()}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".jwt.key.")]
