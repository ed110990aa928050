"""redact_url masks every credential form a connection URL can carry."""

from __future__ import annotations

import pytest

from monitor.service.security import redact_url

SECRET = "s3cr3t-Value"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"redis://:{SECRET}@db:6379/0", "redis://***@db:6379/0"),
        (f"redis://blindar:{SECRET}@db:6379/0", "redis://blindar:***@db:6379/0"),
        (f"https://{SECRET}@hooks.example/x", "https://***@hooks.example/x"),
        (f"redis://db/0?password={SECRET}&db=1", "redis://db/0?password=***&db=1"),
        (f"http://h/?api_key={SECRET}&Token={SECRET}&x=1", "http://h/?api_key=***&Token=***&x=1"),
        (f"http://h/p?access_token={SECRET}", "http://h/p?access_token=***"),
        (f"http://h/p?sig={SECRET}&passwd={SECRET}", "http://h/p?sig=***&passwd=***"),
        (f"http://h/p#access_token={SECRET}", "http://h/p#***"),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
    ],
)
def test_credentials_are_masked(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert SECRET not in redact_url(url)


def test_unparseable_url_says_nothing() -> None:
    assert redact_url(f"redis://[{SECRET}") == "***"
