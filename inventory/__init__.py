"""Inventory domain logic over PostgreSQL: catalogue, stock ledger, stock levels, reservations."""
