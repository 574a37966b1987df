"""A validation set for tool choice, written (labels included) before any method was scored on it.

Settings of ``copilot.tool_choice`` were compared on this set and on cross-validation inside ``TRAIN``; the
faithfulness bench's questions and ``HELD_OUT`` were never used to choose anything. Questions that name a
product, supplier, purchase order or shipment use the demo tenant's catalogue (``CATALOGUE``), which
``copilot.tool_choice.mask_mentions`` masks as the tenant's own catalogue would be masked in service; the
training questions name other, invented things. 53 questions were written; one ("How risky is Mean Well
Enterprises?") turned out to be a question the faithfulness bench generates from the demo data, so it was
dropped (the bench refuses to run on questions in these sets) and the figures are over the remaining 52.
"""

from __future__ import annotations

from copilot.mentions import Mentions
from copilot.tool_questions import A, F, K, M, P, R, S, T

CATALOGUE = Mentions(
    products=[
        {"sku": sku, "name": name}
        for sku, name in (
            ("FST-NUT-M6", "Hex nut M6 zinc"),
            ("PKG-TAPE", "Packing tape 66m"),
            ("ELC-PSU-24", "Power supply 24V 5A"),
            ("ELC-MCU-F4", "Microcontroller STM32F4"),
            ("PKG-PALLET", "EUR pallet"),
            ("RAW-ST-S235", "Steel S235 sheet"),
            ("RAW-ABS-PEL", "ABS pellets"),
            ("SPR-BRG-6204", "Bearing 6204-2RS"),
            ("PKG-BOX-L", "Shipping box large"),
        )
    ],
    suppliers=[
        {"code": code, "name": name}
        for code, name in (
            ("SUP-ARROW", "Arrow Electronics"),
            ("SUP-SKF", "SKF Bearings"),
            ("SUP-WURTH", "Würth Industrie Service"),
            ("SUP-SIEMENS", "Siemens Digital Industries"),
            ("SUP-NORSK", "Norsk Hydro"),
        )
    ],
    purchase_orders=[{"number": "PO-000004"}],
    shipments=[{"number": "SH-000001", "tracking_number": None}],
)

VALIDATION: list[tuple[str, tuple[str, ...]]] = [
    ("How many Hex nut M6 zinc are left?", (S,)),
    ("Check the available quantity of PKG-TAPE", (S,)),
    ("Do we still have Power supply 24V 5A on the shelves?", (S,)),
    ("Inventory figure for ELC-MCU-F4 in Berlin", (S,)),
    ("What's the available-to-promise for the EUR pallet?", (S,)),
    ("Give me the on-hand count across all sites", (S,)),
    ("What's sitting in our warehouses today?", (S,)),
    ("Which orders have stock reserved against them?", (R,)),
    ("How much of Steel S235 sheet is reserved?", (R,)),
    ("List the allocations that are still open", (R,)),
    ("Is anything on hold for customers at the moment?", (R,)),
    ("What did we book out of stock yesterday?", (M,)),
    ("Show the receipts posted for ABS pellets", (M,)),
    ("Which goods were transferred to Rotterdam this week?", (M,)),
    ("Any inventory corrections made recently?", (M,)),
    ("What moved in or out of the warehouse today?", (M,)),
    ("Which purchase orders from Arrow Electronics are still open?", (P,)),
    ("Is PO-000004 overdue?", (P,)),
    ("What have we ordered from suppliers that is still pending?", (P,)),
    ("Which vendor orders missed their promised date?", (P,)),
    ("How many open POs are there for SKF Bearings?", (P,)),
    ("What's the status of our orders with Würth Industrie Service?", (P,)),
    ("Where is shipment SH-000001 now?", (T,)),
    ("What's the expected arrival of our inbound freight?", (T,)),
    ("Which carrier has our containers and when do they land?", (T,)),
    ("Is anything stuck in customs or held up in transit?", (T,)),
    ("Which inbound consignments are behind their ETA?", (T,)),
    ("What goods are currently on the road to us?", (T,)),
    ("What sales volume should we plan for next quarter?", (F,)),
    ("Forecast for Bearing 6204-2RS", (F,)),
    ("How busy will demand be in the coming weeks?", (F,)),
    ("What's the outlook for customer orders next month?", (F,)),
    ("What do the models predict we will ship to customers?", (F,)),
    ("Which of our vendors worries you the most?", (K,)),
    ("Is Siemens Digital Industries a reliable partner?", (K,)),
    ("Which suppliers might fail to deliver because of disruptions?", (K,)),
    ("Show the risk drivers for SUP-NORSK", (K,)),
    ("What needs my attention today?", (A,)),
    ("Which products should I replenish?", (A,)),
    ("Is there anything I should chase or expedite?", (A,)),
    ("Give me today's recommended to-dos", (A,)),
    ("Open purchase orders and current stock of PKG-BOX-L", (P, S)),
    ("What's in transit and what is the sales forecast?", (T, F)),
    ("Show the riskiest suppliers and suggested actions", (K, A)),
    ("Current stock and the last movements", (S, M)),
    ("What does the supply agreement say about force majeure?", ()),
    ("According to the manual, how should returned goods be inspected?", ()),
    ("Which law governs the contract with our supplier?", ()),
    ("What insurance does the agreement require for shipments in transit?", ()),
    ("Good morning!", ()),
    ("What is the minimum order quantity stated in the agreement?", ()),
    ("Who is responsible for freight costs under the contract?", ()),
]
