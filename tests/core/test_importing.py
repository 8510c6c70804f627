"""Account files as people have them: twscrape lines, custom column orders, CSV, JSON, cookie exports."""

import json

import pytest

from xget_pipelines.core.pools.importing import (
    normalise_columns,
    parse_cookies,
    parse_csv,
    parse_json,
    parse_lines,
)

NETSCAPE = """# Netscape HTTP Cookie File
.x.com\tTRUE\t/\tTRUE\t1999999999\tauth_token\tabc123
#HttpOnly_.x.com\tTRUE\t/\tTRUE\t1999999999\tct0\tdef456
"""


def test_twscrape_lines_with_optional_mfa_and_bad_lines_reported_by_number():
    text = "\n".join(
        [
            "alice:pw1:alice@example.org:mailpw1",
            "# a comment",
            "bob:pw2:bob@example.org:mailpw2:JBSWY3DPEHPK3PXP",
            "broken:line",
            "",
            "not a name:pw:e@x.org:m",
            "carol:pw3:carol@example.org:mailpw3:extra:field",
        ]
    )
    parsed = parse_lines(text)
    assert [r.username for r in parsed.records] == ["alice", "bob"]
    assert parsed.records[1].mfa_secret == "JBSWY3DPEHPK3PXP" and parsed.records[0].mfa_secret is None
    assert [(e.line, e.reason.split(" (")[0]) for e in parsed.errors] == [
        (4, "expected 4 to 5 fields"),
        (6, "username is not an X username"),  # not shown: a misplaced column may hold a secret
        (7, "expected 4 to 5 fields"),
    ]


def test_custom_column_order_skip_columns_and_cookies_that_contain_the_delimiter():
    parsed = parse_lines(
        "e@x.org:dave:secret:_:auth_token=a:b; ct0=c", columns="email:username:password:_:cookies"
    )
    (rec,) = parsed.records
    assert (rec.username, rec.email, rec.password) == ("dave", "e@x.org", "secret")
    assert rec.cookies == {"auth_token": "a:b", "ct0": "c"}
    with pytest.raises(ValueError, match="unknown column 'pasword'"):
        normalise_columns("username:pasword")


def test_csv_and_json_files():
    csv_text = "username,password,email,email_password,login_method\nerin,pw,e@x.org,m,google\n,pw,,,\n"
    parsed = parse_csv(csv_text)
    assert [(r.username, r.login_method) for r in parsed.records] == [("erin", "GOOGLE")]
    assert [(e.line, e.reason) for e in parsed.errors] == [(3, "username is empty")]
    header = parse_csv("name,password\nx,y\n").errors[0].reason
    assert header.startswith("header: column 1 is not a known name")
    assert parse_csv("password\ny\n").errors[0].reason.startswith("header: no username column")

    data = {
        "accounts": [
            {"username": "frank", "cookies": {"auth_token": "t", "ct0": "c"}},
            {"username": "gina", "unknown": 1},
            "nope",
        ]
    }
    parsed = parse_json(json.dumps(data))
    assert parsed.records[0].cookies == {"auth_token": "t", "ct0": "c"}
    assert [(e.line, e.reason) for e in parsed.errors] == [
        (2, "unknown fields 'unknown'"),
        (3, "not an object"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        '{"auth_token": "abc123", "ct0": "def456"}',
        '[{"name": "auth_token", "value": "abc123", "domain": ".x.com"}, {"name": "ct0", "value": "def456"}]',
        "auth_token=abc123; ct0=def456",
        NETSCAPE,
    ],
)
def test_cookie_formats(text):
    assert parse_cookies(text) == {"auth_token": "abc123", "ct0": "def456"}
