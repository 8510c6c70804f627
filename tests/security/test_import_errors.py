"""Import errors name the line and the field and say what is wrong, never what a secret is
(issue 16, finding 7).

Found before: ``POST /v1/accounts/import`` and ``xget accounts import`` answered a malformed cookie header
with its first 20 characters (``cookie 'auth_token Sk-cookie' is not name=value``), a Netscape line with its
first field, a username column holding a password (columns out of place) with 20 characters of it, a
login_method column holding one with all of it, and a CSV file without a header row with its first
account's password and email password as "unknown columns"; ``xget accounts add --cookies`` echoed 20
characters too; the proxy import echoed a password as a port (``user:pass:host:port``), as a URL's netloc
(a space in the password) or as metadata. Cookies nested deep as JSON, an account file nested deep and a
CSV field over 128 KiB were a 500. A malformed TOTP secret, or a JSON object where a password goes, was
taken as it was. Now each error names the line and the field only, the line's secrets are scrubbed from it
besides (``core.redact.scrub``), and none of the secret texts below is in the API's answers, the server's
log or the CLI's output.
"""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from typer.testing import CliRunner

from tests.serving.conftest import start_api_server

COLUMNS = "username:password:email:email_password:mfa_secret:cookies"
TOTP = "JBSWY3DPEHPK3PXP"
SECRETS: list[str] = []


def secret(name: str) -> str:
    value = f"Sk-{name}-7f3a9c"
    SECRETS.append(value)
    return value


# (what is malformed, a line of COLUMNS, what its error must say)
LINES = [
    (
        "a cookie header part without '='",
        f"acct_a:{secret('pw-a')}:a@x.org:{secret('mail-a')}:{TOTP}:auth_token {secret('cookie-a')}; ct0=x",
        "cookies: cookie 1 of the header is not name=value",
    ),
    (
        "cookies as broken JSON",
        f'acct_b:{secret("pw-b")}:b@x.org:m:{TOTP}:{{"auth_token": "{secret("cookie-b")}", "ct0": ',
        "cookies: not JSON",
    ),
    (
        "a Netscape cookie line of 4 fields",
        f"acct_c:{secret('pw-c')}:c@x.org:m:{TOTP}:.x.com\tTRUE\tauth_token\t{secret('cookie-c')}",
        "cookies: line 1 of the Netscape cookie file has 4 tab-separated fields, not 7",
    ),
    (
        "a JSON cookie without a value",
        f'acct_d:pw:d@x.org:m:{TOTP}:[{{"name": "auth_token", "val": "{secret("cookie-d")}"}}]',
        "cookies: item 1 of the JSON list has a name but no value",
    ),
    (
        "cookies nested too deep (a 500 before)",
        f"acct_e:{secret('pw-e')}:e@x.org:m:{TOTP}:" + "[" * 5000 + f'"{secret("cookie-e")}"',
        "cookies: JSON nested too deeply",
    ),
    (
        "a TOTP secret that is not base32",
        f"acct_f:{secret('pw-f')}:f@x.org:m:{secret('totp-f')}!:auth_token=t; ct0=c",
        "mfa_secret is not a base32 TOTP key",
    ),
    (
        "a password where the username goes (columns out of place)",
        f"{secret('pw-g')}:acct_g:g@x.org:m",
        "username is not an X username",
    ),
    (
        "an email password where the username goes",
        f"{secret('mail-h')}!!:{secret('pw-h')}:h@x.org:m",
        "username is not an X username",
    ),
]


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    with start_api_server(tmp_path_factory.mktemp("api")) as api:
        yield api


def leaked(text: str) -> list[str]:
    return [s for s in SECRETS if s.lower() in text.lower()]  # some echoes were upper- or lower-cased


def import_accounts(api, body: str, **params) -> httpx.Response:
    return httpx.post(
        f"{api.base_url}/v1/accounts/import",
        params=params,
        content=body.encode(),
        headers={**api.headers("operator"), "Content-Type": "text/plain"},
    )


def test_account_import_errors_name_line_and_field_and_never_a_secret(api, caplog):
    caplog.set_level(logging.DEBUG)
    rep = import_accounts(api, "\n".join(line for _, line, _ in LINES), columns=COLUMNS)
    assert rep.status_code == 200, rep.text
    skipped = rep.json()["skipped"]
    assert [s.split(": ", 1)[0] for s in skipped] == [f"line {n}" for n in range(1, len(LINES) + 1)]
    for (what, _, says), reason in zip(LINES, skipped, strict=True):
        assert says in reason, (what, reason)

    # A login_method column holding a password; a CSV file without its header row; JSON where strings go.
    misplaced = import_accounts(
        api, f"acct_i:{secret('pw-i')}:i@x.org", columns="username:login_method:email"
    ).json()
    assert misplaced["skipped"] == ["line 1: login_method is not one of TWITTER, GOOGLE"]
    no_header = import_accounts(
        api, f"acct_j,{secret('pw-j')},j@x.org,{secret('mail-j')}\nacct_k,pw,k@x.org,m\n", format="csv"
    ).json()
    assert no_header["skipped"][0].startswith("line 1: header: columns 1, 2, 3, 4 are not a known name")
    as_json = [
        {"username": "acct_l", "password": {"value": secret("pw-l")}},
        {"username": "acct_m", "email_password": [secret("mail-m")]},
        {"username": "acct_n", "mfa_secret": secret("totp-n") + "=1"},
        {"username": "acct_o", "cookies": [{"name": "auth_token", "v": secret("cookie-o")}]},
    ]
    from_json = import_accounts(api, json.dumps(as_json), format="json").json()
    assert from_json["skipped"] == [
        "line 1: password is a JSON dict, not a string",
        "line 2: email_password is a JSON list, not a string",
        "line 3: mfa_secret is not a base32 TOTP key (letters A-Z and digits 2-7, spaces allowed)",
        "line 4: cookies: item 1 of the JSON list has a name but no value",
    ]
    answers = rep.text + json.dumps([misplaced, no_header, from_json])
    assert not leaked(answers), leaked(answers)
    assert not leaked(caplog.text), leaked(caplog.text)


def test_deep_or_huge_files_are_reported_not_a_500(api):
    deep = import_accounts(api, "[" * 100_000, format="json")
    assert deep.status_code == 200 and deep.json()["skipped"] == [
        "line 1: not JSON this reads: nested too deeply"
    ]
    huge = import_accounts(api, "username,password\nacct_p," + "x" * 200_000 + "\n", format="csv")
    assert huge.status_code == 200
    assert huge.json()["skipped"] == ["line 1: not CSV from here on: field larger than field limit (131072)"]


PROXIES = [
    (f"proxy_user:{secret('proxy-a')}:10.0.0.1:8080", "port is not a number"),  # user:pass:host:port
    (f"http://proxy_user:{secret('proxy-b')} x@10.0.0.2:8080", "the port is not a number"),
    (f"10.0.0.3:8080:proxy_user:{secret('proxy-c')} {secret('proxy-c2')}", "metadata after the proxy"),
]


def test_proxy_import_errors_never_show_a_password(api, caplog):
    caplog.set_level(logging.DEBUG)
    rep = httpx.post(
        f"{api.base_url}/v1/proxies/import",
        content="\n".join(line for line, _ in PROXIES).encode(),
        headers={**api.headers("operator"), "Content-Type": "text/plain"},
    )
    assert rep.status_code == 200, rep.text
    skipped = rep.json()["skipped"]
    for (line, says), reason in zip(PROXIES, skipped, strict=True):
        assert says in reason, (line, reason)
    assert not leaked(rep.text) and not leaked(caplog.text), leaked(rep.text + caplog.text)


def test_the_cli_import_and_add_never_show_a_secret(api, tmp_path, monkeypatch):
    from xget_pipelines.cli import app

    monkeypatch.setenv("XGET_HOME", str(api.settings.home))
    monkeypatch.setenv("XGET_DATABASE_URL", api.settings.resolved_database_url)
    runner = CliRunner()
    accounts = tmp_path / "accounts.txt"
    accounts.write_text("\n".join(line for _, line, _ in LINES) + "\n")
    out = runner.invoke(app, ["accounts", "import", str(accounts), "--columns", COLUMNS])
    assert out.exit_code == 1  # no good line
    assert f"{len(LINES)} lines skipped" in out.output
    assert "line 1: cookies: cookie 1 of the header is not name=value" in out.output
    assert not leaked(out.output), leaked(out.output)

    added = runner.invoke(app, ["accounts", "add", "acct_q", "--cookies", f"auth_token {secret('cookie-q')}"])
    assert added.exit_code != 0 and "cookie 1 is not name=value" in added.output
    assert not leaked(added.output), leaked(added.output)
