"""ERP integration: connectors that speak each vendor's protocol, and the sync engine that writes what they
read into Chainsight under the tenant's row-level security. Plain Python: no Ray, no FastAPI."""
