"""Moved to ``tests.support.fakes``; these two modules re-export what tests/deployments still imports from here,
until those imports point at ``tests.support.fakes`` (then this package goes)."""
