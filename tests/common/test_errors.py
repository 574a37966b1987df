"""Domain errors keep their code and details across a pickle (how they cross a DeploymentHandle)."""

from __future__ import annotations

import pickle

from common.auth import AuthenticationError
from common.errors import DomainError, InvalidInputError, NotFoundError


def test_a_pickled_domain_error_keeps_its_code_details_and_class():
    error = pickle.loads(pickle.dumps(InvalidInputError("no", code="missing_columns", details={"missing": ["x"]})))
    assert isinstance(error, InvalidInputError)
    assert (error.code, error.details, error.message) == ("missing_columns", {"missing": ["x"]}, "no")
    assert pickle.loads(pickle.dumps(NotFoundError("gone"))).code == "not_found"


def test_an_authentication_error_is_a_domain_error_that_keeps_its_code_and_message_across_a_pickle():
    error = pickle.loads(pickle.dumps(AuthenticationError("expired_token", "the token expired at 12:00")))
    assert isinstance(error, DomainError)
    assert (error.code, error.message, str(error)) == (
        "expired_token",
        "the token expired at 12:00",
        "expired_token: the token expired at 12:00",
    )
