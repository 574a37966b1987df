"""Shared foundations: settings, database access, auth, metrics and shared schemas."""
