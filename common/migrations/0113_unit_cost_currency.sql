-- A product's unit cost keeps its currency. Until now the figure had none, and an order in any currency copied
-- it as a price in that currency: a product costing 2.50 (EUR) became a line at 2.50 JPY. The API's default
-- currency is EUR (as for orders), so costs stored so far are EUR; an ERP sync now writes the mapping's
-- default_currency (the ERP company's currency), or NULL where the mapping has none: a cost whose currency is
-- unknown prices no order.
ALTER TABLE app.products
    ADD COLUMN unit_cost_currency char(3) DEFAULT 'EUR' CHECK (unit_cost_currency ~ '^[A-Z]{3}$');
