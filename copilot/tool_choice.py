"""Tool choice from the question's meaning: a one-vs-rest logistic classifier over sentence embeddings.

The question is embedded once per turn anyway (for retrieval); this classifier reads the same vector, plus
one indicator per tool saying whether the tool's intent words occur (weighted by ``keyword_weight``, 0 turns
them off), so choosing tools costs microseconds. It is fitted on ``copilot.tool_questions.TRAIN`` (the
keyword weight and decision threshold chosen together by cross-validation inside TRAIN) and scored on
``HELD_OUT``, which it never sees while fitting.
Entities named in the question (a SKU, a supplier, a PO number) still add their tools in ``copilot.tools``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold

from copilot.embeddings import Embedder
from copilot.tools import TOOLS, matches

THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
KEYWORD_WEIGHTS = (0.0, 0.25, 0.5, 1.0)
Examples = Sequence[tuple[str, tuple[str, ...]]]


@dataclass
class ToolChooser:
    tools: list[str]
    models: dict[str, LogisticRegression | None]  # None: the tool never appears in training (never chosen)
    threshold: float
    keyword_weight: float

    def choose(self, question: str, embedding: np.ndarray) -> set[str]:
        x = features([question], np.asarray(embedding).reshape(1, -1), self.keyword_weight)
        return {
            tool
            for tool, model in self.models.items()
            if model is not None and model.predict_proba(x)[0, 1] >= self.threshold
        }


def features(questions: list[str], embeddings: np.ndarray, keyword_weight: float) -> np.ndarray:
    words = [[keyword_weight * matches(q, TOOLS[t].keywords) for t in sorted(TOOLS)] for q in questions]
    return np.hstack([embeddings.astype(np.float32), np.asarray(words, dtype=np.float32)])


def _fit(x: np.ndarray, labels: list[set[str]], tools: list[str], threshold: float, weight: float) -> ToolChooser:
    models: dict[str, LogisticRegression | None] = {}
    for tool in tools:
        y = np.array([tool in label for label in labels], dtype=int)
        # class_weight: each tool has few positives among many negatives.
        models[tool] = LogisticRegression(C=10.0, class_weight="balanced", max_iter=2000).fit(x, y) if y.any() else None
    return ToolChooser(tools, models, threshold, weight)


def exact_accuracy(chooser: ToolChooser, questions: list[str], x: np.ndarray, labels: list[set[str]]) -> float:
    """Share of questions whose chosen set of tools is exactly the labelled set."""
    chosen = [chooser.choose(q, v) for q, v in zip(questions, x, strict=True)]
    return float(np.mean([c == label for c, label in zip(chosen, labels, strict=True)]))


def fit_chooser(embedder: Embedder, examples: Examples, tools: list[str], *, folds: int = 5) -> ToolChooser:
    """Fit on all examples, with the keyword weight and threshold that scored best across folds of them."""
    questions = [q for q, _ in examples]
    x = np.stack(embedder.embed(questions))
    labels = [set(t) for _, t in examples]
    scores = {(w, t): 0.0 for w in KEYWORD_WEIGHTS for t in THRESHOLDS}
    for train, valid in KFold(folds, shuffle=True, random_state=0).split(x):
        for weight in KEYWORD_WEIGHTS:
            xw = features(questions, x, weight)
            fold = _fit(xw[train], [labels[i] for i in train], tools, THRESHOLDS[0], weight)
            for threshold in THRESHOLDS:
                fold.threshold = threshold
                scores[weight, threshold] += exact_accuracy(
                    fold, [questions[i] for i in valid], x[valid], [labels[i] for i in valid]
                )
    # Ties go to the smaller keyword weight, then the higher threshold (fewer tools run).
    weight, threshold = max(scores, key=lambda k: (round(scores[k], 9), -k[0], k[1]))
    return _fit(features(questions, x, weight), labels, tools, threshold, weight)


def held_out_accuracy(embedder: Embedder, chooser: ToolChooser, examples: Examples) -> float:
    questions = [q for q, _ in examples]
    return exact_accuracy(chooser, questions, np.stack(embedder.embed(questions)), [set(t) for _, t in examples])
