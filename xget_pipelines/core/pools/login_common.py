"""What both ways of logging an account in share: their error, and the 2FA code from the MFA secret.

X's password flow (``login.py``) and "Sign in with Google" (``google_login.py``) fail the same way, with a
``LoginError`` naming the account, the step and what to do; both answer a 2-Step Verification challenge
with the current TOTP code of the account's MFA secret.
"""

from __future__ import annotations

import pyotp

from xget_pipelines.core.errors import XGetError


class LoginError(XGetError):
    """A login failed at ``step`` (an X subtask id, or ``guest_token``/``start``/``credentials``...)."""

    def __init__(self, username: str, step: str, reason: str):
        self.username = username
        self.step = step
        self.reason = reason
        super().__init__(f"login of {username} failed at {step}: {reason}")


def totp_code(mfa_secret: str) -> str:
    """The current 2FA code of a base32 TOTP key (spaces allowed); ValueError when it is not one."""
    try:
        return pyotp.TOTP(mfa_secret.replace(" ", "")).now()
    except Exception:
        raise ValueError("the MFA secret is not a valid base32 TOTP key: check the MFA secret") from None
