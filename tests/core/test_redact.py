"""One redaction for every place XGet shows text: URLs, error texts, log lines, httpcore's SOCKS trace."""

import logging

from xget_pipelines.core.redact import (
    REDACTED,
    RedactSocksAuth,
    install_socks_auth_filter,
    mask,
    masked_url,
    redact_urls,
    scrub,
    url_hosts,
    url_secrets,
    url_without_credentials,
)


def test_a_url_keeps_its_user_and_loses_its_password_even_with_several_hosts():
    assert masked_url("amqp://xget:p%40ss@mq:5672/prod") == "amqp://xget:***@mq:5672/prod"
    assert masked_url("kafka://u:secret@k1:9092,k2:9092/t") == "kafka://u:***@k1:9092,k2:9092/t"
    assert masked_url("mongodb://reader@db:27017/") == "mongodb://reader@db:27017/"  # no password: as is
    assert masked_url("http://host:80/path") == "http://host:80/path"
    assert url_without_credentials("https://elastic:changeme@search:9200/") == "https://search:9200"
    assert url_hosts("kafka://u:p@k1:9092,k2:9092/topic?x=1") == "k1:9092,k2:9092"
    assert url_hosts("") == "(no host)"


def test_every_url_in_a_text_and_the_given_secrets_are_scrubbed_as_written_and_encoded():
    text = "via socks5://bob:Hunter2@1.2.3.4:1080 and http://a:b@h:1 failed"
    assert redact_urls(text) == "via socks5://bob:***@1.2.3.4:1080 and http://a:***@h:1 failed"
    assert url_secrets("amqp://xget:p%40ss@mq/") == ["p%40ss", "p@ss"]
    assert url_secrets("amqp://xget@mq/") == []
    assert scrub("login p@ss refused (p%40ss)", url_secrets("amqp://xget:p%40ss@mq/")) == (
        "login *** refused (***)"
    )
    assert scrub("wrong pw s3cr3t!", ["s3cr3t!", None, ""]) == "wrong pw ***"
    assert scrub("nothing secret", ()) == "nothing secret"


def test_log_lines_lose_cookies_tokens_url_passwords_and_api_keys():
    line = "auth_token=abc123; ct0=def Bearer AAAA.bbb http://u:pw@h:1 key xk_live_Zz9-x"
    masked = mask(line)
    for secret in ("abc123", "def", "AAAA.bbb", "pw@", "xk_live_Zz9-x"):
        assert secret not in masked
    assert masked == "auth_token=***; ct0=*** Bearer *** http://u:***@h:1 key xk_***"


def test_httpcore_socks_trace_loses_its_credentials_and_the_filter_is_installed_once():
    record = logging.LogRecord(
        "httpcore.socks", logging.DEBUG, __file__, 1, "setup_socks5_connection auth=(b'bob', b'pw')", (), None
    )
    assert RedactSocksAuth().filter(record) and record.msg == f"setup_socks5_connection auth={REDACTED}"
    install_socks_auth_filter()
    install_socks_auth_filter()
    filters = logging.getLogger("httpcore.socks").filters
    assert sum(isinstance(f, RedactSocksAuth) for f in filters) == 1
