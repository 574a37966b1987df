"""Domain errors keep their code and details across a pickle (how they cross a DeploymentHandle)."""

from __future__ import annotations

import pickle

from common.errors import InvalidInputError, NotFoundError


def test_a_pickled_domain_error_keeps_its_code_details_and_class():
    error = pickle.loads(pickle.dumps(InvalidInputError("no", code="missing_columns", details={"missing": ["x"]})))
    assert isinstance(error, InvalidInputError)
    assert (error.code, error.details, error.message) == ("missing_columns", {"missing": ["x"]}, "no")
    assert pickle.loads(pickle.dumps(NotFoundError("gone"))).code == "not_found"
