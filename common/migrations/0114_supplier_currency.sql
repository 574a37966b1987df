-- The currency a supplier invoices in (Odoo's supplier currency, ERPNext's supplier default currency): orders to
-- it default to it, so a draft to a Japanese supplier is in JPY without the buyer saying so, and its prices
-- come from its JPY history (inventory/pricing.py). NULL: orders default to EUR, as before.
ALTER TABLE app.suppliers ADD COLUMN currency char(3) CHECK (currency ~ '^[A-Z]{3}$');
