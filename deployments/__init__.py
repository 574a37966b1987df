"""Thin Ray Serve deployments, the HTTP layer they host, the app builder and the operator CLI."""
