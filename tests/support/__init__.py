"""Builders, fakes and helpers the tests share, and that bench/ scripts may import (tests never import bench
for these)."""
