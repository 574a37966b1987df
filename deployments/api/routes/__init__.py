"""Route modules, one per resource family, mounted under /api/v1."""
