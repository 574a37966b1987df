"""Re-export of ``tests.support.fakes.odoo`` for tests/deployments (see this package's docstring)."""

from tests.support.fakes.odoo import FakeOdoo as FakeOdoo
from tests.support.fakes.odoo import populate as populate
