"""Logging a pool's account in by its login method, and keeping the session it gets.

``login_account`` reads the account's encrypted credentials, logs in with X's password flow
(``login.py``: 2FA from the MFA secret, an emailed code read over IMAP by ``mailbox.py``) or with "Sign in
with Google" in Chromium (``google_login.py``), with the account's browser (``core/x/browser.py``: its
stored user agent, or the one its name picks), and stores the fresh cookies and that browser, encrypted
(reactivating the account); a failed login marks the account inactive with the reason. A login goes
through the account's own proxy (``login_proxy_url``). Where X's login
API and web site are, the mailboxes and the browser: a ``LoginSetup`` the entry points (CLI, API) build
from their settings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import select

from xget_pipelines.core.db.engine import read_only
from xget_pipelines.core.db.models import Account
from xget_pipelines.core.pools.account_pool import AccountPool
from xget_pipelines.core.pools.accounts import AccountRecord, upsert_accounts
from xget_pipelines.core.pools.google_login import login_with_google
from xget_pipelines.core.pools.login import login_with_password
from xget_pipelines.core.pools.login_common import LoginError
from xget_pipelines.core.pools.mailbox import ImapConfig, MailboxError, reader_for_account
from xget_pipelines.core.pools.proxies import ProxyPool
from xget_pipelines.core.pools.proxy_records import ProxyError
from xget_pipelines.core.x.browser import user_agent_for


@dataclass(frozen=True)
class LoginSetup:
    """Where and how pool accounts log in. The entry points (CLI, API) build it from their settings."""

    login_url: str  # X's login API (``/1.1/...``): real X's https://api.x.com, or the emulator
    web_url: str = ""  # X's web site, where Google sign-in starts; empty: ``login_url`` (the emulator)
    imap: ImapConfig = field(default_factory=ImapConfig)  # the mailboxes X emails confirmation codes to
    chromium_path: str = "/usr/bin/chromium"  # the browser Google sign-in drives
    google_timeout_s: float = 90.0  # longest one Google sign-in may take
    screenshot_dir: Path | None = None  # where a failed Google sign-in leaves a screenshot
    timeout_s: float = 20.0  # one request of the password flow

    @classmethod
    def configured(
        cls, login_url: str, web_url: str, settings, chromium_path: str, google_timeout_s: float, home: Path
    ) -> LoginSetup:
        """From the XGet settings (``Settings.login_setup``) or a Dagster resource's copy of them: the mailbox
        comes from ``settings``' ``imap_server``, ``imap_ssl``, ``imap_folders`` (comma-separated),
        ``imap_timeout_s``, ``imap_poll_s`` and ``imap_ca_file``, which both carry under those names."""
        mailbox = ImapConfig(
            settings.imap_server,
            settings.imap_ssl,
            ImapConfig.folder_list(settings.imap_folders),
            settings.imap_timeout_s,
            settings.imap_poll_s,
            settings.imap_ca_file or None,
        )
        return cls(
            login_url,
            web_url=web_url,
            imap=mailbox,
            chromium_path=chromium_path,
            google_timeout_s=google_timeout_s,
            screenshot_dir=Path(home) / "login-screens",
        )


def login_account(
    pool: AccountPool,
    username: str,
    setup: LoginSetup,
    email_code: Callable[[], str] | None = None,
    *,
    transport: httpx.BaseTransport | None = None,
) -> dict[str, str]:
    """Log a pool account in with its stored credentials and store the new cookies (encrypted).

    On success the account is reactivated with its error cleared; on a failed login it is marked
    inactive with the ``LoginError`` message as reason, and the error is raised. An account missing
    from the table or without a password raises ``LoginError`` (step ``credentials``) untouched.
    """
    box = pool.secrets
    with read_only(pool.engine) as conn:
        row = conn.execute(select(Account).where(Account.username == username)).first()
    if row is None:
        raise LoginError(
            username, "credentials", "no such account in the pool: import it first (xget accounts add)"
        )
    account = row  # a Core row: the columns of `accounts`
    method = account.login_method or "TWITTER"
    if method not in ("TWITTER", "GOOGLE"):
        raise LoginError(username, "credentials", f"unknown login method {method!r}: use TWITTER or GOOGLE")
    password = box.decrypt(account.password_enc)
    if not password:
        raise LoginError(
            username, "credentials", "no password stored: re-import the account with its password"
        )
    mfa_secret = box.decrypt(account.mfa_secret_enc)
    proxy_url = login_proxy_url(pool, account)
    # X ties a session to the browser that made it: the account's browser logs in, and is kept with it.
    user_agent = account.user_agent or user_agent_for(username)
    if method == "GOOGLE":

        def sign_in() -> dict[str, str]:
            return _google_sign_in(account, password, mfa_secret, user_agent, setup, proxy_url)
    else:
        if email_code is None:  # X may email a code: read it from the account's mailbox (IMAP) when we can
            try:
                email_code = reader_for_account(
                    account.email, box.decrypt(account.email_password_enc), setup.imap
                )
            except MailboxError as exc:
                raise LoginError(username, "credentials", str(exc)) from None

        def sign_in() -> dict[str, str]:
            return login_with_password(
                setup.login_url,
                username,
                password,
                email=account.email,
                mfa_secret=mfa_secret,
                email_code=email_code,
                timeout_s=setup.timeout_s,
                proxy_url=proxy_url,
                user_agent=user_agent,
                transport=transport,
            )

    try:
        cookies = sign_in()
    except LoginError as exc:
        # whichever method: out of the pool, with the reason; account upkeep tries again with backoff
        pool.mark_inactive(account.id, str(exc), "login")
        raise
    upsert_accounts(
        pool.engine, box, [AccountRecord(username=username, cookies=cookies, user_agent=user_agent)]
    )
    return cookies


def login_proxy_url(pool: AccountPool, account) -> str | None:
    """The proxy a login goes through: the account's own (its import's ``proxy_url``, else the pool proxy it
    is bound to), so X sees the session made from the address it is then used from; None: direct."""
    if account.proxy_url:
        return account.proxy_url
    if account.proxy_id is None:
        return None
    try:
        return ProxyPool(pool.engine, pool.secrets).url_for(account.proxy_id)
    except ProxyError:  # removed meanwhile: the next lease binds another
        return None


def _google_sign_in(
    account,
    password: str,
    mfa_secret: str | None,
    user_agent: str,
    setup: LoginSetup,
    proxy_url: str | None,
) -> dict[str, str]:
    """ "Sign in with Google" in Chromium for a GOOGLE account. The sign-in starts on X's web site:
    ``setup.web_url`` when set, else the login URL (the emulator serves both on one address)."""
    if not account.email:
        raise LoginError(
            account.username,
            "credentials",
            "a GOOGLE account needs its email (the Google account): re-import it with the email",
        )
    return login_with_google(
        setup.web_url or setup.login_url,
        account.username,
        account.email,
        password,
        mfa_secret,
        proxy_url=proxy_url,
        user_agent=user_agent,
        timeout_s=max(setup.timeout_s, setup.google_timeout_s),
        chromium_path=setup.chromium_path,
        screenshot_dir=setup.screenshot_dir,
    )
