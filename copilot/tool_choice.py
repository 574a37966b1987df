"""Tool choice from the question's meaning: one logistic classifier per tool over sentence embeddings.

The question is first masked: every product, supplier, purchase order or shipment it names (found in the
tenant's catalogue by ``copilot.mentions``) becomes its kind ("stock of Shipping box small" reads "stock of the
product"), so a name never reads as intent; the entities still filter and add their tools in
``copilot.tools``. The masked question's embedding is the classifier's input, with two optional extras whose
weights are settings: one indicator per tool for its intent words, and the cosine similarity to each tool's
description. Each tool has its own decision threshold.

``fit_chooser`` fits on ``copilot.tool_questions.TRAIN`` and picks the settings (C, the two weights) and the
per-tool thresholds from out-of-fold probabilities of a cross-validation inside TRAIN, nothing else. Accuracy
is reported on ``copilot.tool_validation.VALIDATION`` and ``HELD_OUT`` (``bench/copilot_tool_choice.py``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import product

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold

from copilot.embeddings import Embedder
from copilot.mentions import CODE, NUMBERED, Mentions, without_legal_form
from copilot.tools import TOOLS, matches

THRESHOLDS = tuple(np.round(np.arange(0.15, 0.86, 0.05), 2))
Examples = Sequence[tuple[str, tuple[str, ...]]]


@dataclass(frozen=True)
class Settings:
    c: float = 10.0  # inverse regularisation of each tool's logistic regression
    keyword_weight: float = 0.5  # 0: intent words are not used
    description_weight: float = 0.0  # 0: similarity to the tools' descriptions is not used


GRID = [Settings(c, k, d) for c, k, d in product((1.0, 10.0, 100.0), (0.0, 0.5, 1.0), (0.0, 1.0))]
# The best of GRID by 5-fold cross-validation inside TRAIN (bench/copilot_tool_choice.py prints the grid); the
# service fits with it, choosing only the per-tool thresholds by cross-validation, to start quickly.
CHOSEN = Settings(c=100.0, keyword_weight=0.0, description_weight=0.0)


@dataclass
class ToolChooser:
    tools: list[str]
    models: dict[str, LogisticRegression | None]  # None: the tool never appears in training (never chosen)
    thresholds: dict[str, float]
    settings: Settings
    descriptions: np.ndarray  # one normalised embedding per tool of sorted(TOOLS)

    def probabilities(self, question: str, embedding: np.ndarray) -> dict[str, float]:
        """Per tool, the probability that ``question`` (masked: ``mask_mentions``) needs it."""
        x = features([question], np.asarray(embedding).reshape(1, -1), self.settings, self.descriptions)
        return {tool: float(model.predict_proba(x)[0, 1]) for tool, model in self.models.items() if model is not None}

    def choose(self, question: str, embedding: np.ndarray) -> set[str]:
        return {t for t, p in self.probabilities(question, embedding).items() if p >= self.thresholds[t]}


def mask_mentions(question: str, mentions: Mentions) -> str:
    """``question`` with each named product, supplier, purchase order and shipment replaced by its kind, and any
    other code written like ours ("XYZ-0001") by "the item"."""
    kinds: list[tuple[str | None, str]] = []
    for p in mentions.products:
        kinds += [(p.get("sku"), "the product"), (p.get("name"), "the product")]
    for s in mentions.suppliers:
        name = s.get("name") or ""
        kinds += [(s.get("code"), "the supplier"), (name, "the supplier"), (without_legal_form(name), "the supplier")]
    for o in mentions.purchase_orders:
        kinds.append((o.get("number"), "the purchase order"))
    for h in mentions.shipments:
        kinds += [(h.get("number"), "the shipment"), (h.get("tracking_number"), "the shipment")]
    masked = question
    for name, kind in sorted(((n, k) for n, k in kinds if n), key=lambda nk: -len(nk[0])):  # longest first
        flags = 0 if len(name) <= 3 else re.IGNORECASE
        masked = re.sub(rf"(?<![\w-]){re.escape(name)}(?![\w-])", kind, masked, flags=flags)
    masked = NUMBERED["PO"].sub("the purchase order", masked)
    masked = NUMBERED["SH"].sub("the shipment", masked)
    return CODE.sub("the item", masked)


def features(questions: list[str], embeddings: np.ndarray, settings: Settings, descriptions: np.ndarray) -> np.ndarray:
    words = [[settings.keyword_weight * matches(q, TOOLS[t].keywords) for t in sorted(TOOLS)] for q in questions]
    similarity = settings.description_weight * (embeddings @ descriptions.T)
    return np.hstack([embeddings, np.asarray(words), similarity]).astype(np.float32)


def _models(x: np.ndarray, labels: list[set[str]], tools: list[str], c: float) -> dict[str, LogisticRegression | None]:
    models: dict[str, LogisticRegression | None] = {}
    for tool in tools:
        y = np.array([tool in label for label in labels], dtype=int)
        # class_weight: each tool has few positives among many negatives.
        models[tool] = LogisticRegression(C=c, class_weight="balanced", max_iter=2000).fit(x, y) if y.any() else None
    return models


def _out_of_fold(x: np.ndarray, labels: list[set[str]], tools: list[str], c: float, folds: int) -> np.ndarray:
    """Probabilities (questions x tools) from models that never saw the question."""
    probabilities = np.zeros((len(labels), len(tools)))
    for train, valid in KFold(folds, shuffle=True, random_state=0).split(x):
        models = _models(x[train], [labels[i] for i in train], tools, c)
        for j, tool in enumerate(tools):
            if (model := models[tool]) is not None:
                probabilities[valid, j] = model.predict_proba(x[valid])[:, 1]
    return probabilities


def _thresholds(probabilities: np.ndarray, labels: list[set[str]], tools: list[str]) -> dict[str, float]:
    """Per tool, the threshold with the most right decisions; ties go to the one nearest 0.5."""
    chosen = {}
    for j, tool in enumerate(tools):
        y = np.array([tool in label for label in labels])
        right = {t: int(((probabilities[:, j] >= t) == y).sum()) for t in THRESHOLDS}
        chosen[tool] = float(max(THRESHOLDS, key=lambda t: (right[t], -abs(t - 0.5))))
    return chosen


def _exact(probabilities: np.ndarray, labels: list[set[str]], tools: list[str], thresholds: dict[str, float]) -> float:
    cut = np.array([thresholds[t] for t in tools])
    chosen = [{t for t, on in zip(tools, row >= cut, strict=True) if on} for row in probabilities]
    return float(np.mean([c == label for c, label in zip(chosen, labels, strict=True)]))


def describe(embedder: Embedder) -> np.ndarray:
    return np.stack(embedder.embed([TOOLS[t].description for t in sorted(TOOLS)]))


def cross_validate(
    embedder: Embedder,
    examples: Examples,
    tools: list[str],
    catalogue: Mentions,
    *,
    grid: Sequence[Settings] = GRID,
    folds: int = 5,
) -> dict[Settings, tuple[float, dict[str, float]]]:
    """Per setting of ``grid``: the out-of-fold exact-set accuracy inside ``examples`` and the thresholds."""
    questions = [mask_mentions(q, catalogue) for q, _ in examples]
    embeddings = np.stack(embedder.embed(questions))
    labels = [set(t) for _, t in examples]
    descriptions = describe(embedder)
    scores = {}
    for settings in grid:
        x = features(questions, embeddings, settings, descriptions)
        probabilities = _out_of_fold(x, labels, tools, settings.c, folds)
        thresholds = _thresholds(probabilities, labels, tools)
        scores[settings] = (_exact(probabilities, labels, tools, thresholds), thresholds)
    return scores


def fit_chooser(
    embedder: Embedder,
    examples: Examples,
    tools: list[str],
    catalogue: Mentions | None = None,
    *,
    settings: Settings | None = CHOSEN,
    folds: int = 5,
) -> ToolChooser:
    """Fit on every example (masked with ``catalogue``: the things they name) with ``settings`` (None: the
    setting of ``GRID`` that scores best across folds of them, ties to the earlier) and per-tool thresholds
    chosen from the out-of-fold probabilities."""
    catalogue = catalogue or Mentions()
    grid = [settings] if settings else GRID
    scores = cross_validate(embedder, examples, tools, catalogue, grid=grid, folds=folds)
    best = max(grid, key=lambda s: round(scores[s][0], 9))
    questions = [mask_mentions(q, catalogue) for q, _ in examples]
    descriptions = describe(embedder)
    x = features(questions, np.stack(embedder.embed(questions)), best, descriptions)
    labels = [set(t) for _, t in examples]
    return ToolChooser(tools, _models(x, labels, tools, best.c), scores[best][1], best, descriptions)


def accuracy(embedder: Embedder, chooser: ToolChooser, examples: Examples, catalogue: Mentions | None = None) -> float:
    """Share of ``examples`` whose chosen set of tools (after masking with ``catalogue``) is exactly the label."""
    questions = [mask_mentions(q, catalogue or Mentions()) for q, _ in examples]
    chosen = [chooser.choose(q, v) for q, v in zip(questions, embedder.embed(questions), strict=True)]
    return float(np.mean([c == set(label) for c, (_, label) in zip(chosen, examples, strict=True)]))
