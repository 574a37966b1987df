-- An order line an ERP gives up after goods were received on it (its product changed, or the line removed) is
-- kept here, closed at what was received (integrations/kept_lines.py). UNIQUE (purchase_order_id, line_no) made
-- room for the ERP's line by moving the kept one to a number from 2000000000 on, and buyers then read line
-- 2000000001 in the API, a number no one wrote. The kept line now keeps its own number and is marked
-- erp_given_up_at (null: a live line, the ERP's or one made here); only live lines are unique by number, and a
-- sync leaves a line given up alone (the ERP's line of that number is another line).
ALTER TABLE app.purchase_order_lines ADD COLUMN erp_given_up_at timestamptz;
ALTER TABLE app.purchase_order_lines DROP CONSTRAINT purchase_order_lines_purchase_order_id_line_no_key;
CREATE UNIQUE INDEX purchase_order_lines_live_no_key ON app.purchase_order_lines (purchase_order_id, line_no)
    WHERE erp_given_up_at IS NULL;

-- Lines kept before this sit from 2000000000 on (a range the sync refused ERP lines in): each is marked given up
-- and gets back the number the notification that told of it recorded (erp_order_line_kept: order, line_no,
-- product), a line matched to a notice of its order and product in the order both were made. One whose notice
-- is gone keeps its high number, marked all the same (the sync would otherwise delete it as a line the ERP lacks).
WITH kept AS (
    SELECT id, purchase_order_id, product_id, updated_at,
           row_number() OVER (PARTITION BY purchase_order_id, product_id ORDER BY line_no) AS nth
    FROM app.purchase_order_lines
    WHERE line_no >= 2000000000
), told AS (
    SELECT (data ->> 'purchase_order_id')::uuid AS purchase_order_id, (data ->> 'product_id')::uuid AS product_id,
           (data ->> 'line_no')::integer AS line_no, created_at,
           row_number() OVER (PARTITION BY data ->> 'purchase_order_id', data ->> 'product_id'
                              ORDER BY created_at, (data ->> 'line_no')::integer) AS nth
    FROM app.notifications
    WHERE kind = 'erp_order_line_kept' AND (data ->> 'line_no')::integer BETWEEN 1 AND 1999999999
)
UPDATE app.purchase_order_lines l
SET line_no = coalesce(t.line_no, l.line_no), erp_given_up_at = coalesce(t.created_at, k.updated_at)
FROM kept k
LEFT JOIN told t ON t.purchase_order_id = k.purchase_order_id AND t.product_id = k.product_id AND t.nth = k.nth
WHERE l.id = k.id;

-- Nothing indexed the receipts' foreign key to their order line: each order line deleted (an ERP's sync, a draft
-- edited) and each check for receipts on a line read the whole table.
CREATE INDEX purchase_receipt_lines_order_line_idx ON app.purchase_receipt_lines (tenant_id, purchase_order_line_id);
