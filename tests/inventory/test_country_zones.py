"""A warehouse's zone from its country, only where the country keeps one time."""

from __future__ import annotations

import pytest

from inventory.catalog_schemas import WarehouseCreate
from inventory.country_zones import country_zone


@pytest.mark.parametrize(
    ("country", "zone"),
    [
        ("DE", "Europe/Berlin"),  # Busingen keeps Berlin's time too
        ("JP", "Asia/Tokyo"),
        ("US", None),
        ("ES", None),  # the Canaries are an hour behind
        ("ZZ", None),  # no such country
    ],
)
def test_a_country_implies_a_zone_only_when_it_keeps_one_time(country, zone):
    assert country_zone(country) == zone


def test_a_new_warehouse_takes_its_countrys_zone_unless_it_names_one():
    assert WarehouseCreate(code="P-1", name="Paris", country="FR").timezone == "Europe/Paris"
    assert WarehouseCreate(code="C-1", name="Chicago", country="US").timezone is None
    chosen = WarehouseCreate(code="C-2", name="Chicago", country="US", timezone="America/Chicago")
    assert chosen.timezone == "America/Chicago"
