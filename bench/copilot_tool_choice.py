"""Tool choice of the copilot: settings chosen by cross-validation inside TRAIN, accuracy on fresh questions.

Fits ``copilot.tool_choice`` on ``copilot.tool_questions.TRAIN`` (names masked with ``TRAIN_CATALOGUE``),
prints the out-of-fold exact-set accuracy of every setting of the grid (the best one is used, with its per-tool
thresholds), then the exact-set accuracy on ``copilot.tool_validation.VALIDATION`` (52 questions, names
masked with the demo catalogue) and on ``HELD_OUT`` (26), with every miss, and one JSON line. "As run" adds
what ``copilot.tools.run_tools`` adds for the things named (a purchase order or shipment number adds its
tool; a product or supplier adds stock or risk when nothing else was chosen). No setting is chosen on
VALIDATION, HELD_OUT or the faithfulness bench's questions.

    .venv/bin/python bench/copilot_tool_choice.py [--unmasked]
"""

from __future__ import annotations

import argparse
import json
import time

from copilot.embeddings import Embedder
from copilot.mentions import Mentions, names_in, without_legal_form
from copilot.tool_choice import CHOSEN, GRID, ToolChooser, cross_validate, fit_chooser, mask_mentions
from copilot.tool_questions import HELD_OUT, TRAIN, TRAIN_CATALOGUE
from copilot.tool_validation import CATALOGUE, VALIDATION
from copilot.tools import TOOLS, WEAK_MENTIONS

KIND_TOOLS = {t.name: t.mentions for t in TOOLS.values()}


def named_kinds(question: str, catalogue: Mentions) -> set[str]:
    """The kinds of thing ``question`` names, as ``copilot.mentions`` would find them in ``catalogue``."""
    rows = {
        "product": [(p["sku"], p["name"]) for p in catalogue.products],
        "supplier": [(s["code"], s["name"], without_legal_form(s["name"])) for s in catalogue.suppliers],
        "purchase_order": [(o["number"],) for o in catalogue.purchase_orders],
        "shipment": [(h["number"], h.get("tracking_number")) for h in catalogue.shipments],
    }
    return {kind for kind, names in rows.items() if any(names_in(question, n) for n in names)}


def as_run(chosen: set[str], kinds: set[str]) -> set[str]:
    wanted = chosen | {t for t, k in KIND_TOOLS.items() if (k & kinds) - WEAK_MENTIONS}
    return wanted or {t for t, k in KIND_TOOLS.items() if k & kinds}


def score(embedder: Embedder, chooser: ToolChooser, examples, catalogue: Mentions, mask: bool) -> dict:
    asked = [mask_mentions(q, catalogue) if mask else q for q, _ in examples]
    rows = []
    for (question, label), text, vector in zip(examples, asked, embedder.embed(asked), strict=True):
        chosen = chooser.choose(text, vector)
        rows.append((question, set(label), chosen, as_run(chosen, named_kinds(question, catalogue))))
    misses = [f"{q!r}: chose {sorted(c)}, want {sorted(w)}" for q, w, c, _ in rows if c != w]
    return {
        "classifier": round(sum(c == w for _, w, c, _ in rows) / len(rows), 3),
        "as_run": round(sum(r == w for _, w, _, r in rows) / len(rows), 3),
        "n": len(rows),
        "misses": misses,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--unmasked", action="store_true", help="do not mask names (the previous method)")
    args = parser.parse_args()
    embedder = Embedder()
    tools = list(TOOLS)
    train_catalogue = Mentions() if args.unmasked else TRAIN_CATALOGUE
    started = time.perf_counter()
    scores = cross_validate(embedder, TRAIN, tools, train_catalogue)
    for settings in GRID:
        print(f"CV {settings}: {scores[settings][0]:.3f}")
    chooser = fit_chooser(embedder, TRAIN, tools, train_catalogue, settings=None)
    fitted = time.perf_counter() - started
    if chooser.settings != CHOSEN:
        print(f"note: the service fits with copilot.tool_choice.CHOSEN = {CHOSEN}, not the best setting here")
    print(f"chosen {chooser.settings}, thresholds {chooser.thresholds} ({len(TRAIN)} training questions)")
    result = {"settings": vars(chooser.settings), "train": len(TRAIN), "masked": not args.unmasked}
    for name, examples, catalogue in (("validation", VALIDATION, CATALOGUE), ("held_out", HELD_OUT, Mentions())):
        found = score(embedder, chooser, examples, catalogue, not args.unmasked)
        print(f"{name}: exact set {found['classifier']} (as run {found['as_run']}) of {found['n']}")
        for miss in found.pop("misses"):
            print("  miss", miss)
        result[name] = found
    result["cv_best"] = round(scores[chooser.settings][0], 3)
    result["fit_s"] = round(fitted, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
