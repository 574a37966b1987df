"""Re-export of ``tests.support.fakes.netsuite`` for tests/deployments (see this package's docstring)."""

from tests.support.fakes.netsuite import rsa_key as rsa_key
from tests.support.fakes.netsuite import signing_key_pem as signing_key_pem
