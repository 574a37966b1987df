"""The carrier webhook's signature check."""

from __future__ import annotations

import pytest

from inventory import carrier_signatures


def test_a_correct_fresh_signature_is_accepted():
    body = b'{"a":1}'
    signature = carrier_signatures.sign("s3cret", "1700000000", body)
    assert (
        carrier_signatures.signature_problem("s3cret", "1700000000", signature, body, now=1700000010, max_skew_s=300)
        is None
    )


@pytest.mark.parametrize(
    ("timestamp", "signature", "body", "reason"),
    [
        ("1700000000", None, b"{}", "send"),
        ("soon", "sha256=00", b"{}", "Unix seconds"),
        ("1" + "0" * 400, "sha256=00", b"{}", "Unix seconds"),  # overflowed the skew check: a 500
        ("1699990000", "good", b"{}", "away from"),
        ("1700000000", "good", b'{"tampered":1}', "does not match"),
        ("1700000000", "sha256=" + "0" * 64, b"{}", "does not match"),
        ("1700000000", "sha256=\xe9", b"{}", "does not match"),  # compare_digest raised TypeError: a 500
    ],
    ids=["missing", "not-a-number", "four-hundred-digits", "stale", "tampered-body", "wrong-secret", "non-ascii"],
)
def test_bad_signatures_are_refused_with_a_reason(timestamp, signature, body, reason):
    good = carrier_signatures.sign("s3cret", timestamp, b"{}") if signature == "good" else signature
    problem = carrier_signatures.signature_problem("s3cret", timestamp, good, body, now=1700000000, max_skew_s=300)
    assert problem is not None and reason in problem
