"""Risk operations against the real database, under row-level security."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from common.errors import InvalidInputError, NotFoundError
from risk import repository, service
from risk.features import DEFAULT_LATE_RATE, PRIOR_STRENGTH, RECENT_STRENGTH
from risk.pipeline import train_disruption_model
from risk.scoring import geographical_factors, operational_factors
from risk.synthetic import generate_history
from tests.risk.conftest import TODAY
from tests.support.rows import insert_many


async def test_an_always_late_supplier_scores_worse_operationally_than_an_always_punctual_one(world):
    late = await world.supplier("LATE")
    punctual = await world.supplier("PUNCTUAL")
    await world.deliveries(late, 40, delay_days=6)
    await world.deliveries(punctual, 40, delay_days=0)
    late_score = await world.run(lambda tx: service.assess_supplier(tx, late, TODAY))
    punctual_score = await world.run(lambda tx: service.assess_supplier(tx, punctual, TODAY))
    assert late_score["components"]["operational"] > punctual_score["components"]["operational"] + 20
    assert late_score["overall"] > punctual_score["overall"]
    assert late_score["confidence"] != "low"
    factors = {f["factor"] for f in late_score["top_factors"]}
    assert "on_time_rate" in factors


async def test_a_supplier_without_history_gets_a_low_confidence_score_not_an_error(world):
    newcomer = await world.supplier("NEW")
    assessment = await world.run(lambda tx: service.assess_supplier(tx, newcomer, TODAY))
    assert assessment["confidence"] == "low"
    assert assessment["deliveries"] == 0
    assert 0 <= assessment["overall"] <= 100
    assert "operational.on_time_rate" in assessment["missing_data"]


async def test_an_unknown_supplier_is_not_found(world):
    with pytest.raises(NotFoundError):
        await world.run(lambda tx: service.assess_supplier(tx, uuid.uuid4(), TODAY))


async def test_another_tenants_supplier_is_not_found(world, other_world):
    theirs = await other_world.supplier("THEIRS")
    with pytest.raises(NotFoundError):
        await world.run(lambda tx: service.assess_supplier(tx, theirs, TODAY))


async def test_ranking_lists_the_riskiest_supplier_first(world):
    risky = await world.supplier("RISKY", "PK", credit_rating="CCC", days_payable=150)
    steady = await world.supplier("STEADY", "DE", credit_rating="AAA", days_payable=30)
    await world.deliveries(risky, 30, delay_days=9, rejected=Decimal(5))
    await world.deliveries(steady, 30, delay_days=0)
    ranking = await world.run(lambda tx: service.rank_suppliers(tx, TODAY, limit=10))
    assert [s["supplier"]["code"] for s in ranking["suppliers"]] == ["RISKY", "STEADY"]
    assert ranking["suppliers"][0]["band"] == "high"


async def test_weights_change_the_overall_score_and_are_validated(world):
    supplier = await world.supplier("W", credit_rating="D")
    before = await world.run(lambda tx: service.assess_supplier(tx, supplier, TODAY))
    weights = {"financial": 1.0, "operational": 0.0, "geographical": 0.0, "compliance": 0.0}
    await world.run(lambda tx: repository.put_weights(tx.conn, tx.tenant_id, tx.user_id, weights))
    after = await world.run(lambda tx: service.assess_supplier(tx, supplier, TODAY))
    assert after["overall"] == after["components"]["financial"] > before["overall"]
    with pytest.raises(InvalidInputError, match="sum to 1"):
        bad = {"financial": 0.5, "operational": 0.5, "geographical": 0.5, "compliance": 0.0}
        await world.run(lambda tx: repository.put_weights(tx.conn, tx.tenant_id, tx.user_id, bad))
    stored = await world.run(lambda tx: repository.get_weights(tx.conn))
    assert stored["weights"] == weights


async def test_weights_are_checked_as_stored_at_four_decimals(world):
    # 0.250251 x 3 + 0.250151 sums to 1.0009, within 0.001; kept at four decimals it is 1.0011, past it.
    near = {"financial": 0.250251, "operational": 0.250251, "geographical": 0.250251, "compliance": 0.250151}
    with pytest.raises(InvalidInputError, match=r"sum to 1 \(got 1.0011\)"):
        await world.run(lambda tx: repository.put_weights(tx.conn, tx.tenant_id, tx.user_id, near))
    fine = {"financial": 0.33333, "operational": 0.33333, "geographical": 0.33334, "compliance": 0.0}
    stored = await world.run(lambda tx: repository.put_weights(tx.conn, tx.tenant_id, tx.user_id, fine))
    assert stored["weights"] == {"financial": 0.3333, "operational": 0.3333, "geographical": 0.3333, "compliance": 0}


async def test_a_viewer_cannot_write_weights_even_with_raw_sql(world):
    async def write(tx):
        await tx.conn.execute(
            "INSERT INTO app.risk_weights (tenant_id, financial, operational, geographical, compliance) "
            "VALUES ($1, 0.25, 0.25, 0.25, 0.25)",
            tx.tenant_id,
        )

    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
        await world.run(write, user=world.tenant.viewer)


async def test_open_orders_get_baseline_probabilities_without_a_model(world):
    late = await world.supplier("LATE")
    punctual = await world.supplier("PUNCTUAL")
    await world.deliveries(late, 40, delay_days=6)
    await world.deliveries(punctual, 40, delay_days=0)
    await world.open_order(late, issued=TODAY - timedelta(days=3), expected=TODAY + timedelta(days=7))
    await world.open_order(punctual, issued=TODAY - timedelta(days=3), expected=TODAY + timedelta(days=7))
    result = await world.run(
        lambda tx: service.order_predictions(tx, service.ModelStore(), TODAY, min_probability=0, limit=10)
    )
    assert result["model"]["scorer"] == "supplier_late_rate_baseline"
    assert "no disruption model" in result["model"]["reason"]
    assert [o["supplier_code"] for o in result["orders"]] == ["LATE", "PUNCTUAL"]
    assert result["orders"][0]["late_probability"] > 0.6 > result["orders"][1]["late_probability"]


async def test_an_overdue_open_line_counts_once_in_its_suppliers_late_rate(world):
    # 10 on time, 2 open lines past their promise: 2 late of 12 (counted twice, it read 4 of 14); a line not yet
    # due is scored with that rate.
    supplier = await world.supplier("S1")
    await world.deliveries(supplier, 10, delay_days=0)
    for _ in range(2):
        await world.open_order(supplier, issued=TODAY - timedelta(days=30), expected=TODAY - timedelta(days=10))
    due = await world.open_order(supplier, issued=TODAY - timedelta(days=1), expected=TODAY + timedelta(days=7))
    result = await world.run(
        lambda tx: service.order_predictions(tx, service.ModelStore(), TODAY, min_probability=0, limit=10)
    )
    overall = (2 + RECENT_STRENGTH * DEFAULT_LATE_RATE) / (12 + RECENT_STRENGTH)
    expected = (2 + PRIOR_STRENGTH * overall) / (12 + PRIOR_STRENGTH)
    (not_yet_due,) = [order for order in result["orders"] if order["purchase_order_id"] == due]
    assert not_yet_due["late_probability"] == pytest.approx(expected, abs=1e-4)


async def test_a_line_past_its_promised_date_is_late_for_certain_and_by_at_least_its_days_overdue(world):
    # Before, it was scored with its supplier's late rate like any other: 16% likely late, about 0.1 days.
    supplier = await world.supplier("S1")
    await world.deliveries(supplier, 10, delay_days=0)
    await world.open_order(supplier, issued=TODAY - timedelta(days=30), expected=TODAY - timedelta(days=10))
    result = await world.run(
        lambda tx: service.order_predictions(tx, service.ModelStore(), TODAY, min_probability=0, limit=10)
    )
    ((line,),) = [order["lines"] for order in result["orders"]]
    assert (line["late_probability"], line["expected_delay_days"]) == (1.0, 10.0)
    assert line["explanation"][0]["feature"] == "days_overdue" and line["explanation"][0]["value"] == 10


async def test_an_open_line_is_scored_with_its_products_category(world):
    supplier = await world.supplier("S1")
    await world.open_order(supplier, issued=TODAY - timedelta(days=3), expected=TODAY + timedelta(days=7))
    async with world.pool.acquire() as conn:
        await conn.execute("UPDATE app.products SET category = 'bolts' WHERE id = $1", world.tenant.products[0])
    lines = await world.run(lambda tx: repository.open_order_lines(tx.conn, TODAY))
    assert list(lines["category"]) == ["bolts"]


async def _train_and_store(world, suppliers):
    """A model trained on generated history whose supplier ids are this tenant's suppliers."""
    # Enough suppliers and lines for the booster to beat the supplier-late-rate baseline on its holdout.
    history = generate_history(lines=6000, suppliers=40, days=900, seed=2)
    ours = {f"SUP-{i}": str(s) for i, s in enumerate(suppliers)}
    history["supplier_id"] = history["supplier_id"].map(lambda code: ours.get(code, code))
    model = train_disruption_model(history)
    return await world.run(
        lambda tx: repository.save_model(tx.conn, tx.tenant_id, model.to_bytes(), model.metrics, run_key="t1")
    )


async def test_an_open_order_an_erp_dated_9999_12_31_is_not_scored_and_the_others_are(world):
    # 9999-12-31 ("no date" in many ERPs) is past what pandas keeps: before, it failed the tenant's whole scan.
    supplier = await world.supplier("S1", "DE")
    await world.deliveries(supplier, count=12, start=TODAY - timedelta(days=200), lead_days=10, delay_days=2)
    await world.open_order(supplier, issued=TODAY - timedelta(days=2), expected=date(9999, 12, 31))
    dated = await world.open_order(supplier, issued=TODAY - timedelta(days=2), expected=TODAY + timedelta(days=5))
    outcome = await world.run(lambda tx: service.scan(tx, service.ModelStore(), TODAY))
    assert outcome["lines_scored"] == 1
    scored = await world.run(lambda tx: tx.conn.fetch("SELECT purchase_order_id FROM app.risk_predictions"))
    assert [r["purchase_order_id"] for r in scored] == [dated]


async def test_a_stored_model_is_the_registry_champion_and_explains_each_line(world):
    late = await world.supplier("LATE")
    await world.deliveries(late, 30, delay_days=6)
    await world.open_order(late, issued=TODAY - timedelta(days=3), expected=TODAY + timedelta(days=7))
    saved = await _train_and_store(world, [late, uuid.uuid4()])
    assert saved["promoted"] and saved["version"] == 1
    result = await world.run(
        lambda tx: service.order_predictions(tx, service.ModelStore(), TODAY, min_probability=0, limit=10)
    )
    assert result["model"]["method"] == "xgboost_calibrated" and result["model"]["version"] == 1
    assert "beats the supplier-late-rate baseline" in result["model"]["reason"]
    assert result["orders"][0]["scored_by"] == "xgboost_calibrated"
    (line,) = result["orders"][0]["lines"]
    assert 0 < line["late_probability"] < 1
    assert line["explanation"] and {"feature", "value", "contribution"} <= set(line["explanation"][0])


async def test_scanning_twice_raises_each_alert_once_and_keeps_one_prediction_per_line(world):
    late = await world.supplier("LATE", credit_rating="D", days_payable=200)
    await world.deliveries(late, 40, delay_days=8, rejected=Decimal(10))
    await world.certification(late, "ISO 9001", TODAY + timedelta(days=10))
    await world.open_order(late, issued=TODAY - timedelta(days=2), expected=TODAY + timedelta(days=5))
    store = service.ModelStore()
    first = await world.run(lambda tx: service.scan(tx, store, TODAY), user=world.tenant.admin)
    second = await world.run(lambda tx: service.scan(tx, store, TODAY), user=world.tenant.admin)
    assert first["alerts_raised"] == {"late_delivery": 1, "supplier_score": 1, "certification_expiry": 1}
    assert second["alerts_raised"] == {"late_delivery": 0, "supplier_score": 0, "certification_expiry": 0}
    async with world.pool.acquire() as conn:
        kinds = await conn.fetch(
            "SELECT kind, count(*) FROM app.notifications WHERE tenant_id = $1 GROUP BY kind ORDER BY kind",
            world.tenant.id,
        )
        predictions = await conn.fetchval(
            "SELECT count(*) FROM app.risk_predictions WHERE tenant_id = $1", world.tenant.id
        )
    assert [(k["kind"], k["count"]) for k in kinds] == [
        ("risk.certification_expiry", 1),
        ("risk.late_delivery", 1),
        ("risk.supplier_score", 1),
    ]
    assert predictions == 1


async def test_a_supplier_score_alert_titles_the_score_as_the_api_gives_it(world):
    late = await world.supplier("LATE", credit_rating="D", days_payable=200)
    await world.deliveries(late, 40, delay_days=8, rejected=Decimal(10))
    await world.run(lambda tx: service.scan(tx, service.ModelStore(), TODAY), user=world.tenant.admin)
    async with world.pool.acquire() as conn:
        alert = await conn.fetchrow(
            "SELECT title, data FROM app.notifications WHERE tenant_id = $1 AND kind = 'risk.supplier_score'",
            world.tenant.id,
        )
    overall = json.loads(alert["data"])["overall"]
    # Two decimals, as the API and the PDF print it: at none, 59.98 (medium; high is 60 or more) read "60 (medium)".
    assert f"risk score is {overall:.2f} (" in alert["title"]


async def test_a_scan_raises_certificate_expiry_alerts_for_active_suppliers_only(world):
    # Before, an inactive supplier's expiring certificate was announced every time it crossed, though its score
    # and the compliance report leave it out.
    active = await world.supplier("ACTIVE")
    retired = await world.supplier("RETIRED")
    await world.certification(active, "ISO 9001", TODAY + timedelta(days=10))
    await world.certification(retired, "ISO 14001", TODAY + timedelta(days=10))
    await world.pool.execute("UPDATE app.suppliers SET active = false WHERE id = $1", retired)
    result = await world.run(lambda tx: service.scan(tx, service.ModelStore(), TODAY), user=world.tenant.admin)
    titles = await world.pool.fetch(
        "SELECT title FROM app.notifications WHERE tenant_id = $1 AND kind = 'risk.certification_expiry'",
        world.tenant.id,
    )
    assert result["alerts_raised"]["certification_expiry"] == 1
    assert [t["title"] for t in titles] == [f"ACTIVE: ISO 9001 expires in 10 days ({TODAY + timedelta(days=10)})"]


async def test_a_scan_observes_every_active_supplier_whatever_a_ranking_page_would_hold(world, monkeypatch):
    # Before, the scan observed only the first 10,000 suppliers of the ranking: one ranked below kept its alert
    # state and last value for good. A ranking whose pages hold two stands in for a tenant past 10,000.
    rank_suppliers = service.rank_suppliers

    async def pages_of_two(tx, today, *, limit, **options):
        return await rank_suppliers(tx, today, limit=None if limit is None else min(limit, 2), **options)

    monkeypatch.setattr(service, "rank_suppliers", pages_of_two)
    suppliers = [await world.supplier(code) for code in ("A", "B", "C")]
    retired = await world.supplier("RETIRED")
    await world.pool.execute("UPDATE app.suppliers SET active = false WHERE id = $1", retired)
    await world.run(lambda tx: service.scan(tx, service.ModelStore(), TODAY), user=world.tenant.admin)
    stored = await world.pool.fetch(
        "SELECT subject_id, last_value FROM app.risk_alert_state WHERE tenant_id = $1 AND kind = 'supplier_score'",
        world.tenant.id,
    )
    scores = {s: (await world.run(lambda tx, s=s: service.assess_supplier(tx, s, TODAY)))["overall"] for s in suppliers}
    assert {r["subject_id"]: r["last_value"] for r in stored} == scores


async def test_a_supplier_reactivated_above_the_threshold_is_alerted_again_by_the_next_scan(world):
    # Before, the alert raised before its deactivation stayed up, never cleared by a scan that skipped it: once
    # reactivated, however high its score, no scan alerted anyone.
    risky = await world.supplier("RISKY", credit_rating="D", days_payable=200)
    await world.deliveries(risky, 40, delay_days=8, rejected=Decimal(10))

    async def scan() -> dict:
        return await world.run(lambda tx: service.scan(tx, service.ModelStore(), TODAY), user=world.tenant.admin)

    first = await scan()
    await world.pool.execute("UPDATE app.suppliers SET active = false WHERE id = $1", risky)
    await scan()
    await world.pool.execute("UPDATE app.suppliers SET active = true WHERE id = $1", risky)
    again = await scan()
    assert (first["alerts_raised"]["supplier_score"], again["alerts_raised"]["supplier_score"]) == (1, 1)


async def supplier_with_prices_near_two(world):
    """A supplier P with six imported prices of product 0 around 2.00 EUR, a month apart."""
    supplier = await world.supplier("P")
    history = [
        {
            "tenant_id": world.tenant.id, "supplier_id": supplier, "product_id": world.tenant.products[0],
            "observed_on": TODAY - timedelta(days=300 - 30 * i), "unit_price": Decimal(str(price)),
            "currency": "EUR", "import_key": f"k{i}",
        }
        for i, price in enumerate([2.0, 2.02, 1.98, 2.01, 2.0, 1.99])
    ]  # fmt: skip
    async with world.pool.acquire() as conn:
        await insert_many(conn, "supplier_price_history", history)
    return supplier


async def test_market_risk_flags_a_draft_priced_far_above_history(world):
    supplier = await supplier_with_prices_near_two(world)
    await world.open_order(supplier, issued=TODAY, expected=TODAY + timedelta(days=5), unit_price=Decimal("2.6"))
    result = await world.run(lambda tx: service.market_risk(tx, None))
    (flag,) = result["price_flags"]
    assert flag["change_pct"] == pytest.approx(30, abs=1)
    assert result["products"][0]["observations"] == 7


async def test_a_draft_is_flagged_against_the_price_history_but_is_not_a_purchase_in_it(world):
    supplier = await supplier_with_prices_near_two(world)
    week = {"issued": TODAY, "expected": TODAY + timedelta(days=5)}
    await world.open_order(supplier, unit_price=Decimal("2.6"), status="draft", **week)
    result = await world.run(lambda tx: service.market_risk(tx, None))
    assert [flag["status"] for flag in result["price_flags"]] == ["draft"]
    (product,) = result["products"]
    assert (product["observations"], product["last_price"], product["shock"]) == (6, 1.99, False)


async def test_market_risk_compares_prices_only_within_one_currency(world):
    # EUR history around 2.0, then an order in JPY at 300 per unit: not a 15,000% shock, a series of its own.
    supplier = await supplier_with_prices_near_two(world)
    await world.open_order(
        supplier, issued=TODAY, expected=TODAY + timedelta(days=5), unit_price=Decimal(300), currency="JPY"
    )
    result = await world.run(lambda tx: service.market_risk(tx, None))
    assert result["price_flags"] == []
    by_currency = {p["currency"]: p for p in result["products"]}
    assert (by_currency["EUR"]["observations"], by_currency["EUR"]["shock"]) == (6, False)
    assert (by_currency["JPY"]["observations"], by_currency["JPY"]["last_price"]) == (1, 300.0)


async def test_spend_shares_are_computed_only_when_the_spend_is_in_one_currency(world):
    small, large = await world.supplier("SMALL"), await world.supplier("LARGE")
    week = {"issued": TODAY - timedelta(days=30), "expected": TODAY - timedelta(days=20)}
    await world.open_order(small, unit_price=Decimal(2), **week)  # 20 EUR
    await world.open_order(large, unit_price=Decimal(6), **week)  # 60 EUR

    async def spend() -> dict:
        facts = await world.run(lambda tx: repository.supplier_facts(tx.conn, TODAY))
        return {code: facts[sid][1] for code, sid in (("small", small), ("large", large))}

    assert (await spend())["small"].spend_share == pytest.approx(0.25)
    # 1,000 JPY is not 1,000 euros: with two currencies no share is a true figure, and the factor says why.
    await world.open_order(small, unit_price=Decimal(100), currency="JPY", **week)
    facts = await spend()
    assert (facts["small"].spend_share, facts["small"].spend_currencies) == (None, ["EUR", "JPY"])
    (factor,) = [f for f in geographical_factors(facts["small"]) if f.name == "spend_share"]
    assert (factor.value, factor.note) == (None, "spend in EUR, JPY: no share without exchange rates")
    assessed = await world.run(lambda tx: service.assess_supplier(tx, small, TODAY))
    assert "geographical.spend_share" in assessed["missing_data"]


async def test_fill_and_defect_rates_average_each_lines_ratio_whatever_its_unit(world):
    # Before, the quantities were summed across units: 100,000 g delivered in full outweighed nine lines of 10
    # pieces half delivered, a fill rate of 99.96%, and 9 pieces rejected of 100,045 read 0.01% defects.
    supplier = await world.supplier("GRAMS-AND-PIECES")
    grams, pieces = world.tenant.products[0], world.tenant.products[1]
    half_delivered = (pieces, Decimal(10), Decimal(5), Decimal(1))
    lines = [(grams, Decimal(100000), Decimal(100000), Decimal(0)), *[half_delivered] * 9]
    async with world.pool.acquire() as conn:
        await conn.execute("UPDATE app.products SET unit_of_measure = 'g' WHERE id = $1", grams)
        await insert_many(
            conn,
            "supplier_deliveries",
            [
                {"tenant_id": world.tenant.id, "supplier_id": supplier, "product_id": product,
                 "order_date": TODAY - timedelta(days=30 + i), "promised_date": TODAY - timedelta(days=20 + i),
                 "delivered_date": TODAY - timedelta(days=20 + i), "quantity": ordered, "quantity_received": received,
                 "quantity_rejected": rejected, "value": Decimal(100), "import_key": f"line-{i}"}
                for i, (product, ordered, received, rejected) in enumerate(lines)
            ],
        )  # fmt: skip
    facts = await world.run(lambda tx: repository.supplier_facts(tx.conn, supplier_id=supplier, today=TODAY))
    observed = {f.name: f.observed for f in operational_factors(facts[supplier][1].deliveries)}
    assert observed["fill_rate"] == {"deliveries": 10, "rate": 0.55}  # (1 + 9 x 0.5) / 10
    assert observed["defect_rate"] == {"deliveries": 10, "rate": 0.18}  # (0 + 9 x 1/5) / 10


async def _age_features(tx, run_id):
    """Make a stored model look like one an earlier version stored (one feature fewer)."""
    artifact = json.loads(await repository.load_model_artifact(tx.conn, run_id))
    artifact["features"] = artifact["features"][:-1]
    await tx.conn.execute(
        "UPDATE app.risk_model_artifacts SET artifact = $1 WHERE run_id = $2", json.dumps(artifact).encode(), run_id
    )


async def test_a_retrained_model_replaces_a_champion_of_an_earlier_feature_set_even_with_a_worse_score(world):
    supplier = await world.supplier("S")
    await world.deliveries(supplier, 30, delay_days=6)
    saved = await _train_and_store(world, [supplier])
    await world.run(lambda tx: _age_features(tx, saved["run_id"]))
    retrained = await _retrain_with_a_worse_score(world)
    assert retrained["promoted"] and retrained["version"] == 2
    assert retrained["reason"] == (
        "champion v1 is outdated: it was trained on an earlier feature set and cannot be served"
    )


async def _retrain_with_a_worse_score(world):
    model = train_disruption_model(generate_history(lines=6000, suppliers=40, days=900, seed=2))
    worse = {**model.metrics, "holdout": {"served": {"brier": 0.99}}}  # an rmse no champion loses to
    return await world.run(
        lambda tx: repository.save_model(tx.conn, tx.tenant_id, model.to_bytes(), worse, run_key="t2")
    )


async def test_a_champion_of_the_current_rules_keeps_its_title_against_a_worse_retrain(world):
    await _train_and_store(world, [await world.supplier("S")])
    retrained = await _retrain_with_a_worse_score(world)
    assert not retrained["promoted"] and "does not beat champion v1" in retrained["reason"]


async def test_a_champion_labelled_under_an_earlier_rule_gives_way_to_a_retrain_whatever_its_score(world):
    saved = await _train_and_store(world, [await world.supplier("S")])
    await world.run(
        lambda tx: tx.conn.execute(
            "UPDATE app.forecast_runs SET metrics = metrics - 'labels' WHERE id = $1", saved["run_id"]
        )
    )
    retrained = await _retrain_with_a_worse_score(world)
    assert retrained["promoted"] and "labelled under an earlier rule" in retrained["reason"]


async def test_a_champion_trained_on_an_earlier_feature_set_leaves_the_baseline_serving_and_says_so(world):
    late = await world.supplier("LATE")
    await world.deliveries(late, 30, delay_days=6)
    await world.open_order(late, issued=TODAY - timedelta(days=3), expected=TODAY + timedelta(days=7))
    saved = await _train_and_store(world, [late, uuid.uuid4()])
    await world.run(lambda tx: _age_features(tx, saved["run_id"]))
    result = await world.run(
        lambda tx: service.order_predictions(tx, service.ModelStore(), TODAY, min_probability=0, limit=10)
    )
    assert result["model"]["scorer"] == "supplier_late_rate_baseline"
    assert "earlier feature set" in result["model"]["reason"] and "version 1" in result["model"]["reason"]
    assert result["orders"][0]["scored_by"] == "supplier_late_rate_baseline"
    # GET /model says the same (before, it showed the champion's metrics and "the model beats the baseline").
    summary = await world.run(lambda tx: service.model_summary(tx, service.ModelStore()))
    assert (summary["scorer"], summary["version"], summary["trained_at"]) == ("supplier_late_rate_baseline", None, None)
    assert "earlier feature set" in summary["reason"]


async def test_an_order_is_flagged_only_against_prices_known_when_it_was_ordered(world):
    # Before, every other price counted: twelve cheaper purchases after a fair one flagged it after the fact.
    supplier = await supplier_with_prices_near_two(world)
    await world.open_order(supplier, issued=TODAY - timedelta(days=120), expected=TODAY, unit_price=Decimal("2.0"))
    later = [
        {"tenant_id": world.tenant.id, "supplier_id": supplier, "product_id": world.tenant.products[0],
         "observed_on": TODAY - timedelta(days=100 - 5 * i), "unit_price": Decimal("1.6"), "currency": "EUR",
         "import_key": f"later{i}"}
        for i in range(12)
    ]  # fmt: skip
    async with world.pool.acquire() as conn:
        await insert_many(conn, "supplier_price_history", later)
    result = await world.run(lambda tx: service.market_risk(tx, None))
    assert result["price_flags"] == []


async def test_an_order_issued_after_its_expected_date_shows_its_own_expected_date(world):
    # Before, the field held the promised date (never before the issue day): another date than the order screens'.
    supplier = await world.supplier("S1")
    await world.open_order(supplier, issued=TODAY - timedelta(days=2), expected=TODAY - timedelta(days=5))
    result = await world.run(
        lambda tx: service.order_predictions(tx, service.ModelStore(), TODAY, min_probability=0, limit=10)
    )
    (order,) = result["orders"]
    assert order["expected_date"] == TODAY - timedelta(days=5)
    assert order["expected_delay_days"] >= 2  # late from the day the supplier got the order


async def test_open_lines_past_their_promise_count_as_late_in_the_on_time_rate(world):
    # Before, only completed deliveries counted: 10 on time and 20 lines 90 days overdue showed 0.95 on time.
    supplier = await world.supplier("STALLED")
    await world.deliveries(supplier, 10, delay_days=0)
    for _ in range(20):
        await world.open_order(supplier, issued=TODAY - timedelta(days=120), expected=TODAY - timedelta(days=90))
    facts = (await world.run(lambda tx: repository.supplier_facts(tx.conn, TODAY, supplier)))[supplier][1]
    (on_time,) = [f for f in operational_factors(facts.deliveries) if f.name == "on_time_rate"]
    assert on_time.value < 0.5 and "20 open line(s) past their promised date" in on_time.note


async def _lines_due_on_the_docks_date(world):
    """A Los Angeles warehouse's line due on its date now, and the date a day ahead (the job's or a reader's)."""
    await world.pool.execute(
        "UPDATE app.warehouses SET timezone = 'America/Los_Angeles' WHERE id = $1", world.tenant.warehouses[0]
    )
    now = datetime.now(UTC)
    dock_day = now.astimezone(ZoneInfo("America/Los_Angeles")).date()
    supplier = await world.supplier("ACME")
    await world.deliveries(supplier, 3, delay_days=0, start=dock_day - timedelta(days=100))
    await world.open_order(supplier, issued=dock_day - timedelta(days=10), expected=dock_day)
    return supplier, now, dock_day, dock_day + timedelta(days=1)


async def test_a_scan_of_the_present_dates_lateness_on_the_receiving_warehouses_calendar(world):
    # Before, the nightly scan (02:30 UTC) counted from the job's UTC date: a Los Angeles line due that evening's
    # date was "1 days past its promised date", certain to be late, and announced so.
    _, now, _, ahead = await _lines_due_on_the_docks_date(world)

    async def both(tx):
        overdue = []
        for at in (now, None):  # on the dock's calendar; on the given date alone
            _, predictions = await service.predict_open_lines(tx, service.ModelStore(), ahead, at)
            overdue.append([p.days_overdue for p in predictions])
        return overdue

    assert await world.run(both) == [[0], [1]]


async def test_a_suppliers_overdue_lines_are_counted_on_the_receiving_warehouses_calendar(world):
    # Before, a line due on the dock's date counted as overdue from a date a day ahead of it (the nightly job's UTC
    # date, a reader's in Asia), lowering the supplier's on-time rate while /purchase-orders called it not late.
    supplier, now, _, ahead = await _lines_due_on_the_docks_date(world)

    async def overdue(tx):
        return [
            (await repository.supplier_facts(tx.conn, ahead, supplier, at))[supplier][1].deliveries.overdue
            for at in (now, None)  # on the dock's calendar; on the given date alone
        ]

    assert await world.run(overdue) == [0, 1]


async def test_a_scan_of_the_present_stores_supplier_scores_on_the_receiving_warehouses_calendar(world):
    supplier, now, dock_day, ahead = await _lines_due_on_the_docks_date(world)
    await world.run(lambda tx: service.scan(tx, service.ModelStore(), ahead, at=now), user=world.tenant.admin)
    stored = await world.pool.fetchval(
        "SELECT last_value FROM app.risk_alert_state WHERE kind = 'supplier_score' AND subject_id = $1", supplier
    )
    on_the_docks_date = await world.run(lambda tx: service.assess_supplier(tx, supplier, dock_day))
    on_the_docks_calendar = await world.run(lambda tx: service.assess_supplier(tx, supplier, ahead, now))
    assert stored == on_the_docks_date["overall"] == on_the_docks_calendar["overall"]


async def test_a_purchase_orders_price_is_observed_on_its_receiving_warehouses_date(world):
    # Before, on the database session's date (UTC): an order issued at 17:00 on 1 March in Los Angeles was a price
    # of 2 March.
    await world.pool.execute(
        "UPDATE app.warehouses SET timezone = 'America/Los_Angeles' WHERE id = $1", world.tenant.warehouses[0]
    )
    supplier = await world.supplier("P")
    order = await world.open_order(supplier, issued=date(2026, 3, 1), expected=date(2026, 3, 20))
    await world.pool.execute(
        "UPDATE app.purchase_orders SET issued_at = $2 WHERE id = $1", order, datetime(2026, 3, 2, 1, tzinfo=UTC)
    )
    result = await world.run(lambda tx: service.market_risk(tx, None))
    assert [p["last_observed_on"] for p in result["products"]] == [date(2026, 3, 1)]


async def test_an_order_is_flagged_against_prices_observed_before_its_day_at_the_receiving_warehouse(world):
    # Before, an order issued at 01:00 on 2 March in Tokyo (1 March, UTC) was ordered before that day's prices.
    await world.pool.execute(
        "UPDATE app.warehouses SET timezone = 'Asia/Tokyo' WHERE id = $1", world.tenant.warehouses[0]
    )
    supplier = await world.supplier("P")
    prices = [
        {"tenant_id": world.tenant.id, "supplier_id": supplier, "product_id": world.tenant.products[0],
         "observed_on": date(2026, 3, 1), "unit_price": Decimal(str(price)), "currency": "EUR", "import_key": f"k{i}"}
        for i, price in enumerate([2.0, 2.02, 1.98, 2.01, 2.0, 1.99])
    ]  # fmt: skip
    async with world.pool.acquire() as conn:
        await insert_many(conn, "supplier_price_history", prices)
    order = await world.open_order(
        supplier, issued=date(2026, 3, 1), expected=date(2026, 3, 20), unit_price=Decimal("2.6")
    )
    await world.pool.execute(
        "UPDATE app.purchase_orders SET issued_at = $2 WHERE id = $1", order, datetime(2026, 3, 1, 16, tzinfo=UTC)
    )
    result = await world.run(lambda tx: service.market_risk(tx, None))
    assert [flag["reference_price"] for flag in result["price_flags"]] == [2.0]
