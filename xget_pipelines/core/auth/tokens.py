"""Access and refresh tokens (JWT, HS256, issuer ``xget``), and bearer tokens of an external OpenID
Connect provider.

- Access tokens live ``XGET_API_ACCESS_TOKEN_TTL_S`` (15 min); they name the user, and the user's current
  role and status are read on every request, so a disabled user is out at once.
- Refresh tokens live ``XGET_API_REFRESH_TOKEN_TTL_S`` (14 days) and rotate: each use revokes the token
  and issues a new one of the same family; a revoked token used again revokes the whole family.
- The signing key is ``XGET_JWT_SECRET``, or one generated into ``<XGET_HOME>/jwt.key`` (0600).
- External tokens (``XGET_OIDC_ISSUER``): verified against the provider's JWKS (RS256/ES256), issuer,
  audience and expiry; the user is created on first sight with the role its claims grant.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import jwt
from sqlalchemy import Engine, insert, select, update

from xget_pipelines.core.auth.permissions import ROLES
from xget_pipelines.core.auth.users import AuthError, Principal, active_principal, create_user
from xget_pipelines.core.db.engine import read_only
from xget_pipelines.core.db.models import RefreshToken, User

ISSUER = "xget"
_ALGORITHM = "HS256"


def load_or_create_signing_key(path: Path) -> str:
    """The key in ``path``, made on first use: created 0600 (never readable by others, not even briefly) and
    moved into place atomically, so two processes starting at once agree on one key."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48))
    try:
        os.link(tmp, path)  # fails if another process made the key first: theirs wins
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_text().strip()


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    audience: str
    jwks_url: str = ""
    role_claim: str = "xget_role"
    default_role: str = "viewer"


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "bearer"


class TokenService:
    def __init__(
        self,
        engine: Engine,
        signing_key: str,
        access_ttl_s: int = 900,
        refresh_ttl_s: int = 14 * 86400,
        oidc: OidcConfig | None = None,
    ):
        self.engine = engine
        self._key = signing_key
        self.access_ttl_s = access_ttl_s
        self.refresh_ttl_s = refresh_ttl_s
        self.oidc = oidc
        self._jwks = None
        self._jwks_lock = threading.Lock()

    def __repr__(self) -> str:  # never the signing key
        return f"TokenService(access_ttl_s={self.access_ttl_s}, oidc={self.oidc and self.oidc.issuer!r})"

    # -- issuing ----------------------------------------------------------------------------------------

    def access_token(self, principal: Principal) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": str(principal.user_id),
            "typ": "access",
            "via": principal.via,
            "iat": now,
            "exp": now + self.access_ttl_s,
            "jti": uuid.uuid4().hex,
        }
        if principal.key_id:  # client credentials: the key's narrower role stays with the token
            claims["kid"] = principal.key_id
            claims["role_cap"] = principal.role
        return jwt.encode(claims, self._key, algorithm=_ALGORITHM)

    def issue(self, principal: Principal, family: str | None = None) -> TokenPair:
        """An access token and (for people, not machines) a refresh token."""
        access = self.access_token(principal)
        if principal.via == "client_credentials":  # machines re-authenticate with their key instead
            return TokenPair(access, "", self.access_ttl_s)
        now = int(time.time())
        jti = uuid.uuid4().hex
        family = family or uuid.uuid4().hex
        refresh = jwt.encode(
            {
                "iss": ISSUER,
                "sub": str(principal.user_id),
                "typ": "refresh",
                "iat": now,
                "exp": now + self.refresh_ttl_s,
                "jti": jti,
                "fam": family,
            },
            self._key,
            algorithm=_ALGORITHM,
        )
        with self.engine.begin() as conn:
            conn.execute(
                insert(RefreshToken).values(
                    jti=jti,
                    family=family,
                    user_id=principal.user_id,
                    expires_at=dt.datetime.fromtimestamp(now + self.refresh_ttl_s, dt.UTC),
                )
            )
        return TokenPair(access, refresh, self.access_ttl_s)

    def refresh(self, refresh_token: str) -> TokenPair:
        claims = self._decode_own(refresh_token, "refresh")
        now = dt.datetime.now(dt.UTC)
        replayed = False
        with self.engine.begin() as conn:
            row = conn.execute(select(RefreshToken).where(RefreshToken.jti == claims["jti"])).first()
            if row is None:
                raise AuthError("unknown refresh token: log in again")
            if row.revoked_at is not None:  # replayed: someone else may hold the family; end it (committed)
                conn.execute(
                    update(RefreshToken)
                    .where(RefreshToken.family == row.family, RefreshToken.revoked_at.is_(None))
                    .values(revoked_at=now)
                )
                replayed = True
            else:
                conn.execute(update(RefreshToken).where(RefreshToken.jti == row.jti).values(revoked_at=now))
        if replayed:
            raise AuthError("refresh token already used: every session of this login is ended; log in again")
        principal = active_principal(self.engine, int(claims["sub"]), "password", issued_at=claims.get("iat"))
        return self.issue(principal, family=claims["fam"])

    def revoke(self, refresh_token: str, user_id: int | None = None) -> None:
        """End the login ``refresh_token`` belongs to; with ``user_id``, only if it is that user's."""
        claims = self._decode_own(refresh_token, "refresh")
        if user_id is not None and int(claims["sub"]) != user_id:
            raise AuthError("this refresh token is not yours: log out with your own")
        with self.engine.begin() as conn:
            conn.execute(
                update(RefreshToken)
                .where(RefreshToken.family == claims["fam"], RefreshToken.revoked_at.is_(None))
                .values(revoked_at=dt.datetime.now(dt.UTC))
            )

    # -- verifying --------------------------------------------------------------------------------------

    def _decode_own(self, token: str, typ: str) -> dict:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[_ALGORITHM],
                issuer=ISSUER,
                options={"require": ["exp", "sub", "iss", "jti"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthError(
                f"{typ} token expired"
                + (": refresh it or log in again" if typ == "access" else ": log in again")
            ) from exc
        except jwt.InvalidTokenError as exc:
            raise AuthError(f"invalid {typ} token ({exc})") from exc
        if claims.get("typ") != typ:
            raise AuthError(f"this is not an {typ} token")
        return claims

    def principal(self, token: str) -> Principal:
        """The principal of a bearer token: XGet's own access token, or the OIDC provider's."""
        try:
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.InvalidTokenError as exc:
            raise AuthError(f"malformed bearer token ({exc})") from exc
        if issuer == ISSUER:
            claims = self._decode_own(token, "access")
            principal = active_principal(
                self.engine,
                int(claims["sub"]),
                claims.get("via", "password"),
                key_id=claims.get("kid"),
                role_cap=claims.get("role_cap"),
                issued_at=claims.get("iat"),
            )
            return dataclasses.replace(principal, valid_until=float(claims["exp"]))
        if self.oidc is not None and issuer == self.oidc.issuer:
            return self._oidc_principal(token)
        raise AuthError(f"tokens of issuer {issuer!r} are not accepted here")

    def _jwk_client(self) -> jwt.PyJWKClient:
        with self._jwks_lock:
            if self._jwks is None:
                url = self.oidc.jwks_url or _discover_jwks(self.oidc.issuer)
                self._jwks = jwt.PyJWKClient(url, cache_keys=True, lifespan=300, timeout=5)
            return self._jwks

    def _oidc_principal(self, token: str) -> Principal:
        try:
            key = self._jwk_client().get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                key.key,
                algorithms=["RS256", "ES256", "PS256"],
                audience=self.oidc.audience,
                issuer=self.oidc.issuer,
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
        except jwt.PyJWKClientConnectionError as exc:
            raise AuthError(f"cannot reach the identity provider's keys ({exc}); try again later") from exc
        except jwt.InvalidTokenError as exc:
            raise AuthError(f"identity provider token rejected ({exc})") from exc
        subject = f"{claims['iss']}|{claims['sub']}"
        with read_only(self.engine) as conn:
            row = conn.execute(select(User.id).where(User.external_subject == subject)).first()
        if row is None:
            user = create_user(
                self.engine,
                self._free_username(claims),
                None,
                self._role(claims),
                email=claims.get("email"),
                external_subject=subject,
            )
            user_id = user.id
        else:
            user_id = row.id
        principal = active_principal(self.engine, user_id, "oidc")
        # The provider decides the role on each token; a lowered role takes effect at once.
        return Principal(
            principal.user_id,
            principal.username,
            self._role(claims),
            "oidc",
            valid_until=float(claims["exp"]),
        )

    def _role(self, claims: dict) -> str:
        value = claims.get(self.oidc.role_claim)
        values = value if isinstance(value, list) else [value]
        granted = [v for v in values if v in ROLES]
        return max(granted, key=ROLES.index) if granted else self.oidc.default_role

    def _free_username(self, claims: dict) -> str:
        base = (
            re.sub(r"[^A-Za-z0-9_.-]", "_", str(claims.get("preferred_username") or claims["sub"]))[:56]
            or "user"
        )
        base = base if len(base) >= 3 else f"{base}___"[:3]
        name = base
        with read_only(self.engine) as conn:
            taken = {
                r[0].lower()
                for r in conn.execute(select(User.username).where(User.username.like(f"{base}%")))
            }
        i = 1
        while name.lower() in taken:
            i += 1
            name = f"{base}-{i}"
        return name


def _discover_jwks(issuer: str) -> str:
    import httpx

    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        return httpx.get(url, timeout=5).raise_for_status().json()["jwks_uri"]
    except (httpx.HTTPError, KeyError, ValueError) as exc:
        raise AuthError(
            f"cannot read the identity provider's configuration at {url} ({exc}); set XGET_OIDC_JWKS_URL"
        ) from exc
