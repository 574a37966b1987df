"""Protocol-faithful fake ERP servers on loopback, for tests and the bench (test infrastructure only)."""
