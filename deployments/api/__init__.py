"""The HTTP layer: a FastAPI app over the domain packages, hosted by the ``InventoryAPI`` deployment."""
