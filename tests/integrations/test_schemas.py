"""What a connector's configuration may name as its token endpoint (integrations/schemas.py)."""

from __future__ import annotations

import pytest

from integrations.schemas import check_token_url


@pytest.mark.parametrize("value", ["/sap/bc/sec/oauth2/token", "https://login.example.com/tenant/oauth2/v2.0/token"])
def test_a_path_on_the_base_url_or_an_http_url_is_a_token_url(value):
    check_token_url(value)


@pytest.mark.parametrize("value", ["http://x:80x/t", "https://a..b/t", "http://x:99999/t", "ftp://x/t", "t", True])
def test_what_no_http_client_can_open_is_not_a_token_url(value):
    # Before, none was checked: stored, then every push through the connector was a 500.
    with pytest.raises(ValueError, match="token_url"):
        check_token_url(value)
