"""A seeded, labelled corpus of supplier agreements for retrieval quality checks (tests and bench).

Every agreement has the same sections with different figures, so a retriever must match both the topic
(vector search is good at paraphrase) and the supplier's name (full text is good at names): the case
hybrid search is for. Each question is labelled with the document and section that answer it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

SUPPLIERS = [
    "Acme Fasteners",
    "Borealis Metals",
    "Cobalt Circuits",
    "Dunmore Packaging",
    "Elbrus Polymers",
    "Fjord Logistics",
    "Granite Castings",
    "Helix Bearings",
    "Ironwood Timber",
    "Juniper Textiles",
    "Kestrel Optics",
    "Lumen Cables",
    "Meridian Chemicals",
    "Nimbus Plastics",
    "Orion Springs",
    "Pinnacle Valves",
    "Quarry Aggregates",
    "Redwood Pallets",
    "Sable Electronics",
    "Tundra Coatings",
    "Umber Glassworks",
    "Vantage Motors",
    "Willow Adhesives",
    "Xenon Lighting",
    "Yarrow Seals",
]
INCOTERMS = ["FCA", "DAP", "DDP", "EXW", "CPT"]


@dataclass(frozen=True)
class Question:
    text: str
    filename: str
    section: str


@dataclass(frozen=True)
class Corpus:
    documents: list[tuple[str, str]]  # (filename, markdown)
    questions: list[Question]


def make_corpus(documents: int = 20, *, seed: int = 7) -> Corpus:
    if not 1 <= documents <= len(SUPPLIERS):
        raise ValueError(f"documents must be 1..{len(SUPPLIERS)}")
    rng = random.Random(seed)
    docs: list[tuple[str, str]] = []
    questions: list[Question] = []
    for name in SUPPLIERS[:documents]:
        filename = name.lower().replace(" ", "-") + "-supply-agreement.md"
        penalty, cap = rng.randint(1, 5), rng.choice([10, 15, 20])
        net, discount = rng.choice([30, 45, 60, 90]), rng.choice([1, 2, 3])
        lead, incoterm = rng.randint(5, 40), rng.choice(INCOTERMS)
        defects, notice = rng.choice([0.5, 1.0, 1.5, 2.0]), rng.randint(1, 6)
        sections = {
            "Late delivery penalties": (
                f"If {name} delivers after the confirmed date, the buyer may deduct {penalty}% of the value of "
                f"the late goods for each started week of delay, capped at {cap}% of the order value. "
                "Force majeure events notified within 48 hours are excluded."
            ),
            "Payment terms": (
                f"Invoices from {name} are payable {net} days net from receipt of a correct invoice. "
                f"Payment within 10 days earns an early settlement discount of {discount}%."
            ),
            "Delivery and lead time": (
                f"{name} ships {incoterm} (Incoterms 2020). The standard lead time is {lead} calendar days "
                "from purchase order acceptance; expedited orders are confirmed case by case."
            ),
            "Quality and inspection": (
                f"Goods from {name} are inspected on arrival. A defect rate above {defects}% in any lot allows "
                "the buyer to reject the whole lot at the supplier's cost and request a corrective action plan."
            ),
            "Termination": (
                f"Either party may terminate this agreement with {name} by giving {notice} months' written "
                "notice. Open purchase orders remain binding until delivered."
            ),
        }
        prefix = "".join(word[0] for word in name.split()).upper()
        parts = [f"{prefix}-{rng.randint(1000, 9999)}" for _ in range(3)]
        sections["Covered parts"] = f"This agreement covers part numbers {', '.join(parts)}."
        body = [f"# Supply agreement: {name}", "", f"Agreement between Northwind Components and {name}.", ""]
        for heading, text in sections.items():
            body += [f"## {heading}", "", text, ""]
        docs.append((filename, "\n".join(body)))
        questions += [
            Question(f"What happens if {name} ships late?", filename, "Late delivery penalties"),
            Question(f"How long is the payment window for {name}?", filename, "Payment terms"),
            Question(
                f"How many days until goods from {name} arrive after we order?", filename, "Delivery and lead time"
            ),
            Question(
                f"Can we send back a batch from {name} with too many faulty pieces?", filename, "Quality and inspection"
            ),
            Question(f"How do we get out of the deal with {name}?", filename, "Termination"),
            Question(f"Which supplier agreement covers part {parts[rng.randrange(3)]}?", filename, "Covered parts"),
        ]
    # Distractors: meeting notes that name suppliers and talk about the same topics, with no contract terms.
    for month in ["January", "February", "March", "April", "May"]:
        named = rng.sample(SUPPLIERS[:documents], k=min(4, documents))
        lines = [f"# Supplier review, {month}", ""]
        for other in named:
            lines += [
                f"## {other}",
                "",
                f"{other} was discussed: late deliveries, invoices, lead times, defects and the contract "
                "renewal were reviewed with the category manager. No change to the agreement was decided.",
                "",
            ]
        docs.append((f"supplier-review-{month.lower()}.md", "\n".join(lines)))
    return Corpus(docs, questions)
