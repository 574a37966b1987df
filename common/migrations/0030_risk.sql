-- Supplier and supply-chain risk: supplier attributes, certifications, audits, imported delivery and price
-- history (plus views that add what purchase orders and receipts already record), per-tenant weights, model
-- artifacts, stored predictions, alert state, and a country risk reference table.
--
-- Tenant tables follow the foundation's pattern (tenant_id, ENABLE + FORCE RLS, composite foreign keys).

-- Country and region risk indices, 0 (lowest risk) to 100. Reference data for every tenant: no tenant_id and
-- no row-level security; the request role may only read it, the owner role (an operator) updates it.
-- The seeded figures are illustrative defaults in the spirit of public indices (political stability,
-- logistics performance, natural hazard exposure); operators replace them with their provider's.
CREATE TABLE app.country_risk (
    country         char(2) PRIMARY KEY CHECK (country ~ '^[A-Z]{2}$'),
    name            text NOT NULL,
    region          text NOT NULL,
    political       numeric(5, 2) NOT NULL CHECK (political BETWEEN 0 AND 100),
    economic        numeric(5, 2) NOT NULL CHECK (economic BETWEEN 0 AND 100),
    logistics       numeric(5, 2) NOT NULL CHECK (logistics BETWEEN 0 AND 100),
    natural_hazard  numeric(5, 2) NOT NULL CHECK (natural_hazard BETWEEN 0 AND 100),
    overall         numeric(5, 2) GENERATED ALWAYS AS
        ((political * 0.35 + economic * 0.25 + logistics * 0.25 + natural_hazard * 0.15)::numeric(5, 2)) STORED,
    source          text NOT NULL DEFAULT 'chainsight default',
    updated_at      timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT ON app.country_risk TO authenticated;

INSERT INTO app.country_risk (country, name, region, political, economic, logistics, natural_hazard) VALUES
    ('DE', 'Germany', 'Europe', 12, 15, 8, 10),
    ('FR', 'France', 'Europe', 20, 20, 12, 12),
    ('NL', 'Netherlands', 'Europe', 10, 14, 6, 18),
    ('BE', 'Belgium', 'Europe', 16, 18, 10, 10),
    ('IE', 'Ireland', 'Europe', 10, 16, 18, 8),
    ('GB', 'United Kingdom', 'Europe', 18, 22, 12, 8),
    ('NO', 'Norway', 'Europe', 6, 12, 16, 12),
    ('SE', 'Sweden', 'Europe', 8, 14, 12, 6),
    ('FI', 'Finland', 'Europe', 8, 16, 14, 6),
    ('DK', 'Denmark', 'Europe', 6, 12, 10, 8),
    ('CH', 'Switzerland', 'Europe', 5, 8, 10, 12),
    ('AT', 'Austria', 'Europe', 10, 14, 12, 14),
    ('IT', 'Italy', 'Europe', 28, 32, 20, 30),
    ('ES', 'Spain', 'Europe', 24, 28, 16, 22),
    ('PT', 'Portugal', 'Europe', 16, 30, 22, 20),
    ('PL', 'Poland', 'Europe', 26, 26, 22, 10),
    ('CZ', 'Czechia', 'Europe', 18, 22, 18, 10),
    ('HU', 'Hungary', 'Europe', 34, 34, 24, 10),
    ('RO', 'Romania', 'Europe', 32, 38, 36, 24),
    ('TR', 'Turkey', 'Europe', 58, 66, 38, 52),
    ('UA', 'Ukraine', 'Europe', 92, 86, 72, 20),
    ('RU', 'Russia', 'Europe', 90, 78, 60, 24),
    ('US', 'United States', 'North America', 22, 18, 12, 34),
    ('CA', 'Canada', 'North America', 10, 16, 14, 20),
    ('MX', 'Mexico', 'North America', 52, 44, 42, 48),
    ('BR', 'Brazil', 'South America', 48, 52, 50, 30),
    ('AR', 'Argentina', 'South America', 50, 78, 48, 22),
    ('CL', 'Chile', 'South America', 30, 30, 34, 62),
    ('CN', 'China', 'Asia', 50, 36, 24, 46),
    ('TW', 'Taiwan', 'Asia', 46, 20, 16, 66),
    ('JP', 'Japan', 'Asia', 10, 22, 10, 72),
    ('KR', 'South Korea', 'Asia', 24, 20, 12, 30),
    ('IN', 'India', 'Asia', 46, 40, 44, 58),
    ('VN', 'Vietnam', 'Asia', 40, 42, 40, 56),
    ('TH', 'Thailand', 'Asia', 44, 38, 34, 50),
    ('MY', 'Malaysia', 'Asia', 30, 32, 26, 34),
    ('ID', 'Indonesia', 'Asia', 42, 42, 46, 68),
    ('BD', 'Bangladesh', 'Asia', 62, 56, 64, 78),
    ('PK', 'Pakistan', 'Asia', 78, 72, 66, 64),
    ('SG', 'Singapore', 'Asia', 6, 10, 6, 10),
    ('AE', 'United Arab Emirates', 'Middle East', 24, 20, 14, 20),
    ('IL', 'Israel', 'Middle East', 64, 30, 22, 24),
    ('ZA', 'South Africa', 'Africa', 46, 58, 44, 28),
    ('EG', 'Egypt', 'Africa', 62, 66, 46, 30),
    ('NG', 'Nigeria', 'Africa', 74, 72, 70, 40),
    ('MA', 'Morocco', 'Africa', 36, 42, 40, 34),
    ('AU', 'Australia', 'Oceania', 10, 16, 18, 44),
    ('NZ', 'New Zealand', 'Oceania', 6, 16, 22, 50);

-- What a buyer knows about a supplier besides the catalogue row: where it ships from, what it supplies,
-- financial indicators, and how goods usually travel.
CREATE TABLE app.supplier_risk_profiles (
    tenant_id              uuid NOT NULL,
    supplier_id            uuid NOT NULL,
    region                 text CHECK (length(region) <= 100),
    categories             text[] NOT NULL DEFAULT '{}',
    credit_rating          text CHECK (credit_rating IN ('AAA', 'AA', 'A', 'BBB', 'BB', 'B', 'CCC', 'CC', 'C', 'D')),
    days_payable           integer CHECK (days_payable BETWEEN 0 AND 720),
    revenue_trend_pct      numeric(7, 2) CHECK (revenue_trend_pct BETWEEN -100 AND 1000),
    distance_km            numeric(9, 1) CHECK (distance_km BETWEEN 0 AND 40000),
    default_shipment_mode  text NOT NULL DEFAULT 'road' CHECK (default_shipment_mode IN ('road', 'rail', 'sea', 'air')),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, supplier_id),
    FOREIGN KEY (tenant_id, supplier_id) REFERENCES app.suppliers (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE app.supplier_certifications (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id    uuid NOT NULL,
    supplier_id  uuid NOT NULL,
    standard     text NOT NULL CHECK (length(standard) BETWEEN 1 AND 64),  -- ISO 9001, IATF 16949, ...
    reference    text NOT NULL DEFAULT '' CHECK (length(reference) <= 100),
    issued_on    date,
    expires_on   date NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, supplier_id, standard, reference),
    CHECK (issued_on IS NULL OR issued_on <= expires_on),
    FOREIGN KEY (tenant_id, supplier_id) REFERENCES app.suppliers (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX supplier_certifications_expiry_idx ON app.supplier_certifications (tenant_id, expires_on);

CREATE TABLE app.supplier_audits (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id    uuid NOT NULL,
    supplier_id  uuid NOT NULL,
    audited_on   date NOT NULL,
    score        numeric(5, 2) NOT NULL CHECK (score BETWEEN 0 AND 100),  -- 100 = no findings
    outcome      text NOT NULL CHECK (outcome IN ('pass', 'conditional', 'fail')),
    next_due     date,
    notes        text CHECK (length(notes) <= 2000),
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, supplier_id, audited_on),
    FOREIGN KEY (tenant_id, supplier_id) REFERENCES app.suppliers (tenant_id, id) ON DELETE CASCADE
);

-- Delivery history imported from other systems (years of it, at onboarding). `import_key` is a hash of the
-- row's identity, so importing the same file twice adds nothing.
CREATE TABLE app.supplier_deliveries (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id          uuid NOT NULL,
    supplier_id        uuid NOT NULL,
    product_id         uuid,
    category           text CHECK (length(category) <= 100),
    origin_country     char(2) CHECK (origin_country ~ '^[A-Z]{2}$'),
    shipment_mode      text NOT NULL DEFAULT 'road' CHECK (shipment_mode IN ('road', 'rail', 'sea', 'air')),
    order_date         date NOT NULL,
    promised_date      date NOT NULL,
    delivered_date     date,
    quantity           numeric(18, 4) NOT NULL CHECK (quantity > 0),
    quantity_received  numeric(18, 4) CHECK (quantity_received >= 0),
    quantity_rejected  numeric(18, 4) NOT NULL DEFAULT 0 CHECK (quantity_rejected >= 0),
    value              numeric(18, 4) CHECK (value >= 0),
    reference          text CHECK (length(reference) <= 200),
    import_key         text NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, import_key),
    CHECK (promised_date >= order_date),
    CHECK (delivered_date IS NULL OR delivered_date >= order_date),
    FOREIGN KEY (tenant_id, supplier_id) REFERENCES app.suppliers (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, product_id) REFERENCES app.products (tenant_id, id) ON DELETE SET NULL (product_id)
);
CREATE INDEX supplier_deliveries_supplier_idx ON app.supplier_deliveries (tenant_id, supplier_id, order_date);

CREATE TABLE app.supplier_price_history (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id    uuid NOT NULL,
    supplier_id  uuid NOT NULL,
    product_id   uuid,
    category     text CHECK (length(category) <= 100),
    observed_on  date NOT NULL,
    unit_price   numeric(14, 4) NOT NULL CHECK (unit_price > 0),
    currency     char(3) NOT NULL DEFAULT 'EUR' CHECK (currency ~ '^[A-Z]{3}$'),
    import_key   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, import_key),
    CHECK (product_id IS NOT NULL OR category IS NOT NULL),
    FOREIGN KEY (tenant_id, supplier_id) REFERENCES app.suppliers (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, product_id) REFERENCES app.products (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX supplier_price_history_product_idx ON app.supplier_price_history (tenant_id, product_id, observed_on);

-- Per-tenant weights of the four score components; absent, the defaults in risk/scoring.py apply.
CREATE TABLE app.risk_weights (
    tenant_id     uuid PRIMARY KEY REFERENCES app.tenants (id) ON DELETE CASCADE,
    financial     numeric(5, 4) NOT NULL CHECK (financial BETWEEN 0 AND 1),
    operational   numeric(5, 4) NOT NULL CHECK (operational BETWEEN 0 AND 1),
    geographical  numeric(5, 4) NOT NULL CHECK (geographical BETWEEN 0 AND 1),
    compliance    numeric(5, 4) NOT NULL CHECK (compliance BETWEEN 0 AND 1),
    updated_by    uuid,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (abs(financial + operational + geographical + compliance - 1) <= 0.001)
);

-- Disruption model artifacts. Runs, versions, metrics and the champion live in the model registry shared
-- with forecasting (app.forecast_runs, model_name 'risk-disruption'); this table holds each run's bytes.
CREATE TABLE app.risk_model_artifacts (
    tenant_id   uuid NOT NULL,
    run_id      uuid NOT NULL,
    artifact    bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, run_id),
    FOREIGN KEY (tenant_id, run_id) REFERENCES app.forecast_runs (tenant_id, id) ON DELETE CASCADE
);

-- The latest disruption prediction per open purchase-order line, written by the early-warning job.
CREATE TABLE app.risk_predictions (
    tenant_id                uuid NOT NULL,
    purchase_order_line_id   uuid NOT NULL,
    purchase_order_id        uuid NOT NULL,
    late_probability         double precision NOT NULL CHECK (late_probability BETWEEN 0 AND 1),
    expected_delay_days      double precision NOT NULL CHECK (expected_delay_days >= 0),
    model_version            integer,
    contributions            jsonb NOT NULL DEFAULT '[]',
    scored_at                timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, purchase_order_line_id),
    FOREIGN KEY (tenant_id, purchase_order_line_id) REFERENCES app.purchase_order_lines (tenant_id, id)
        ON DELETE CASCADE
);

-- Alert hysteresis: one row per watched subject and kind. An alert is raised when the value crosses the
-- threshold upwards while the state is not active, and re-armed only once it falls below the lower bound.
CREATE TABLE app.risk_alert_state (
    tenant_id     uuid NOT NULL REFERENCES app.tenants (id) ON DELETE CASCADE,
    kind          text NOT NULL CHECK (kind IN ('late_delivery', 'supplier_score', 'certification_expiry',
                                                'price_shock')),
    subject_id    uuid NOT NULL,
    active        boolean NOT NULL,
    last_value    double precision NOT NULL,
    raised_count  integer NOT NULL DEFAULT 0,
    raised_at     timestamptz,
    cleared_at    timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, kind, subject_id)
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['supplier_risk_profiles', 'supplier_certifications', 'supplier_audits',
                             'supplier_deliveries', 'supplier_price_history', 'risk_weights', 'risk_model_artifacts',
                             'risk_predictions', 'risk_alert_state']
    LOOP
        EXECUTE format('ALTER TABLE app.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE app.%I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format($p$CREATE POLICY tenant_read ON app.%I FOR SELECT TO authenticated
                        USING (tenant_id = (SELECT app.current_tenant_id()))$p$, t);
        EXECUTE format($p$CREATE POLICY tenant_insert ON app.%I FOR INSERT TO authenticated
                        WITH CHECK (tenant_id = (SELECT app.writable_tenant_id()))$p$, t);
        EXECUTE format($p$CREATE POLICY tenant_update ON app.%I FOR UPDATE TO authenticated
                        USING (tenant_id = (SELECT app.writable_tenant_id()))
                        WITH CHECK (tenant_id = (SELECT app.writable_tenant_id()))$p$, t);
        EXECUTE format($p$CREATE POLICY tenant_delete ON app.%I FOR DELETE TO authenticated
                        USING (tenant_id = (SELECT app.writable_tenant_id()))$p$, t);
    END LOOP;
END
$$;

GRANT SELECT, INSERT, UPDATE, DELETE ON app.supplier_risk_profiles, app.supplier_certifications,
    app.supplier_audits, app.supplier_deliveries, app.supplier_price_history, app.risk_weights, app.risk_model_artifacts,
    app.risk_predictions, app.risk_alert_state TO authenticated;

-- Delivery history as one relation: imported rows plus every purchase-order line that was issued with an
-- expected date. A line is delivered when its last receipt completed it (received + cancelled >= ordered);
-- until then `delivered_date` is NULL (open). Shortfalls count as unreceived quantity once delivered.
CREATE VIEW app.risk_delivery_history WITH (security_invoker = true) AS
SELECT d.id,
       'import'::text AS source,
       d.supplier_id,
       d.product_id,
       coalesce(d.category, p.category) AS category,
       coalesce(d.origin_country, s.country::char(2)) AS origin_country,
       d.shipment_mode,
       d.order_date,
       d.promised_date,
       d.delivered_date,
       d.quantity,
       coalesce(d.quantity_received, CASE WHEN d.delivered_date IS NOT NULL THEN d.quantity END) AS quantity_received,
       d.quantity_rejected,
       d.value,
       NULL::uuid AS purchase_order_id
FROM app.supplier_deliveries d
JOIN app.suppliers s ON s.tenant_id = d.tenant_id AND s.id = d.supplier_id
LEFT JOIN app.products p ON p.tenant_id = d.tenant_id AND p.id = d.product_id
UNION ALL
SELECT l.id,
       'purchase_order'::text,
       po.supplier_id,
       l.product_id,
       p.category,
       s.country::char(2),
       coalesce(rp.default_shipment_mode, 'road'),
       coalesce(po.issued_at, po.created_at)::date,
       greatest(po.expected_date, coalesce(po.issued_at, po.created_at)::date),
       CASE WHEN l.received_base + l.cancelled_base >= l.quantity_base THEN
            (SELECT max(r.received_at)::date
             FROM app.purchase_receipt_lines rl
             JOIN app.purchase_receipts r ON r.tenant_id = rl.tenant_id AND r.id = rl.receipt_id
             WHERE rl.tenant_id = l.tenant_id AND rl.purchase_order_line_id = l.id)
       END,
       l.quantity_base,
       l.received_base,
       0::numeric,
       l.quantity * l.unit_price,
       po.id
FROM app.purchase_order_lines l
JOIN app.purchase_orders po ON po.tenant_id = l.tenant_id AND po.id = l.purchase_order_id
JOIN app.suppliers s ON s.tenant_id = po.tenant_id AND s.id = po.supplier_id
JOIN app.products p ON p.tenant_id = l.tenant_id AND p.id = l.product_id
LEFT JOIN app.supplier_risk_profiles rp ON rp.tenant_id = po.tenant_id AND rp.supplier_id = po.supplier_id
WHERE po.status IN ('issued', 'partially_received', 'received') AND po.expected_date IS NOT NULL;
GRANT SELECT ON app.risk_delivery_history TO authenticated;

-- Purchase prices: imported observations plus the price of every issued purchase-order line.
CREATE VIEW app.risk_price_history WITH (security_invoker = true) AS
SELECT h.supplier_id, h.product_id, coalesce(h.category, p.category) AS category, h.observed_on, h.unit_price,
       h.currency, 'import'::text AS source, NULL::uuid AS purchase_order_line_id
FROM app.supplier_price_history h
LEFT JOIN app.products p ON p.tenant_id = h.tenant_id AND p.id = h.product_id
UNION ALL
SELECT po.supplier_id, l.product_id, p.category, coalesce(po.issued_at, po.created_at)::date,
       l.unit_price / l.uom_factor, po.currency::char(3), 'purchase_order', l.id
FROM app.purchase_order_lines l
JOIN app.purchase_orders po ON po.tenant_id = l.tenant_id AND po.id = l.purchase_order_id
JOIN app.products p ON p.tenant_id = l.tenant_id AND p.id = l.product_id
WHERE po.status <> 'cancelled' AND l.unit_price > 0;
GRANT SELECT ON app.risk_price_history TO authenticated;
