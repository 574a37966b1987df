"""The disruption classifier: gradient-boosted trees, calibrated on held-out rows, with explanations.

The booster starts every line from the log-odds of its supplier's late rate on that shipment mode in the last
weeks (``OFFSET_FEATURE``, a base margin) and learns corrections to it. The starting point follows a drifting
base rate as outcomes come in (real late rates move several-fold between years), so the trees describe relative
risk, which carries over between periods, rather than a level that held when they were fitted.

Training the booster is a function of a feature frame so that Ray Train workers (``risk.training``) and a
plain process fit the same model. ``DisruptionModel`` bundles the booster, the calibration map and the
expected delay per late line; it serialises to bytes for the model registry.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import xgboost as xgb
from scipy.optimize import minimize_scalar
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from common.errors import DomainError
from risk.features import FEATURE_LABELS, FEATURES, RATE_FEATURES

# Shallow, shrunk trees; late rates may only raise the probability (a monotone constraint), so a short
# noisy history cannot teach the booster that a supplier's lateness makes it punctual.
DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "binary:logistic",
    "eval_metric": "logloss",
    "tree_method": "hist",
    "max_depth": 3,
    "eta": 0.05,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "min_child_weight": 5,
    "lambda": 5.0,
    "monotone_constraints": "(" + ",".join("1" if f in RATE_FEATURES else "0" for f in FEATURES) + ")",
    "nthread": 1,
}
DEFAULT_ROUNDS = 200
BASELINE_SCORER = "supplier_late_rate_baseline"
MODEL_SCORER = "xgboost_calibrated"
RATE_SCORER = "supplier_mode_recent_rate"  # the booster's starting point alone (``rate_probability``)
Calibration = Literal["isotonic", "platt", "shrink", "identity"]
OFFSET_FEATURE = "supplier_mode_fast_late_rate"
# Isotonic regression needs enough held-out rows to estimate a monotone map without overfitting.
ISOTONIC_MIN_ROWS = 1_000


class IncompatibleModelError(DomainError):
    """A stored model trained on another feature set (an earlier version): it must be retrained."""

    code = "incompatible_model"


def fit_booster(
    features: pd.DataFrame, labels: np.ndarray, *, rounds: int = DEFAULT_ROUNDS, params: dict[str, Any] | None = None
) -> xgb.Booster:
    """Fit in this process (the single-worker path; Ray Train workers call xgboost the same way)."""
    train = feature_matrix(features, labels)
    return xgb.train({**DEFAULT_PARAMS, **(params or {})}, train, num_boost_round=rounds)


def offset_margin(features: pd.DataFrame) -> np.ndarray:
    """The booster's starting log-odds: the supplier's recent late rate on the line's shipment mode."""
    rate = np.clip(np.nan_to_num(features[OFFSET_FEATURE].to_numpy(dtype=float), nan=0.1), 0.001, 0.999)
    result: np.ndarray = np.log(rate / (1 - rate))
    return result


def reference_margin(features: pd.DataFrame) -> np.ndarray:
    """The log-odds of all suppliers' late rate in the last weeks (the level the shrink calibration keeps)."""
    return offset_margin(
        features[["overall_fast_late_rate"]].rename(columns={"overall_fast_late_rate": OFFSET_FEATURE})
    )


def feature_matrix(features: pd.DataFrame, labels: np.ndarray | None = None) -> xgb.DMatrix:
    """The booster's input: ``FEATURES`` with ``offset_margin`` as the base margin."""
    return xgb.DMatrix(features[FEATURES], label=labels, feature_names=FEATURES, base_margin=offset_margin(features))


def raw_margin(booster: xgb.Booster, features: pd.DataFrame) -> np.ndarray:
    margin: np.ndarray = booster.predict(feature_matrix(features), output_margin=True)
    return margin


@dataclass
class Calibrator:
    """Maps the booster's raw probability to a calibrated one: isotonic (a monotone step map), Platt, or shrink:
    ``sigmoid(ref + a * (margin - ref))`` with ``ref`` the log-odds of all suppliers' late rate in the last weeks,
    which scales how far a line may stray from the current level without moving the level itself (a drifting
    base rate stays followed)."""

    method: Calibration
    x: list[float] = field(default_factory=list)  # isotonic thresholds
    y: list[float] = field(default_factory=list)
    a: float = 1.0  # Platt: sigmoid(a * margin + b)
    b: float = 0.0

    @classmethod
    def fit(
        cls,
        margin: np.ndarray,
        labels: np.ndarray,
        method: Calibration | None = None,
        reference: np.ndarray | None = None,
    ) -> Calibrator:
        chosen: Calibration = method or ("isotonic" if len(labels) >= ISOTONIC_MIN_ROWS else "platt")
        if chosen == "identity":
            return cls("identity")
        if chosen == "shrink":
            ref = _required(reference)

            def loss(a: float) -> float:
                p = np.clip(_sigmoid(ref + a * (margin - ref)), 1e-6, 1 - 1e-6)
                return float(-np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p)))

            found = minimize_scalar(loss, bounds=(0.0, 2.0), method="bounded")
            return cls("shrink", a=float(found.x))
        if chosen == "isotonic":
            iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
            iso.fit(_sigmoid(margin), labels)
            return cls("isotonic", x=iso.X_thresholds_.tolist(), y=iso.y_thresholds_.tolist())
        platt = LogisticRegression(C=1e6).fit(margin.reshape(-1, 1), labels)
        return cls("platt", a=float(platt.coef_[0, 0]), b=float(platt.intercept_[0]))

    def apply(self, margin: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
        if self.method == "shrink":
            ref = _required(reference)
            return _sigmoid(ref + self.a * (margin - ref))
        if self.method == "identity":  # the booster's own log-loss probabilities
            return _sigmoid(margin)
        if self.method == "isotonic":
            # Keep probabilities off exactly 0 and 1: a calibrated "never" or "certainly" is not credible.
            return np.clip(np.interp(_sigmoid(margin), self.x, self.y), 0.001, 0.999)
        return _sigmoid(self.a * margin + self.b)


@dataclass
class DisruptionModel:
    """The booster and its calibration, and which scorer serves (``scorer``, ``reason``): the booster, its
    starting point alone (``RATE_SCORER``) or the supplier-late-rate baseline, as the training run's holdout
    decided (``risk.pipeline.choose_scorer``)."""

    booster: xgb.Booster
    calibrator: Calibrator
    mean_delay_if_late: float
    metrics: dict[str, Any] = field(default_factory=dict)
    scorer: str = MODEL_SCORER
    reason: str = ""

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        if self.scorer == BASELINE_SCORER:
            return baseline_probability(features)
        if self.scorer == RATE_SCORER:
            return rate_probability(features)
        return self.predict_candidate(features)

    def predict_candidate(self, features: pd.DataFrame) -> np.ndarray:
        return self.calibrator.apply(raw_margin(self.booster, features), reference_margin(features))

    def expected_delay(self, probability: np.ndarray, features: pd.DataFrame) -> np.ndarray:
        """Expected delay in days: P(late) times the delay of a late line (the supplier's when known)."""
        supplier_delay = features["supplier_mean_delay"].to_numpy(dtype=float)
        late_rate = np.maximum(features["supplier_late_rate"].to_numpy(dtype=float), 0.02)
        if_late = np.where(np.isfinite(supplier_delay), supplier_delay / late_rate, self.mean_delay_if_late)
        return probability * np.clip(if_late, 0.5, 90)

    def explain(self, features: pd.DataFrame, top: int = 5) -> list[list[dict[str, Any]]]:
        """The ``top`` feature contributions of each row (log-odds of the uncalibrated booster, SHAP values; the
        starting point counts for ``OFFSET_FEATURE`` by how far it lies from all suppliers' recent rate)."""
        if self.scorer in (BASELINE_SCORER, RATE_SCORER):
            return baseline_explanations(features, OFFSET_FEATURE if self.scorer == RATE_SCORER else None)
        contributions = self.booster.predict(feature_matrix(features), pred_contribs=True)[:, :-1]
        contributions[:, FEATURES.index(OFFSET_FEATURE)] += offset_margin(features) - reference_margin(features)
        explained = []
        values = features[FEATURES].to_numpy(dtype=float)
        for contribution, value in zip(contributions, values, strict=True):
            order = np.argsort(-np.abs(contribution))[:top]
            explained.append(
                [
                    {
                        "feature": FEATURES[i],
                        "label": FEATURE_LABELS[FEATURES[i]],
                        "value": None if not np.isfinite(value[i]) else round(float(value[i]), 4),
                        "contribution": round(float(contribution[i]), 4),
                        "direction": "raises" if contribution[i] > 0 else "lowers",
                    }
                    for i in order
                    if abs(contribution[i]) > 1e-6
                ]
            )
        return explained

    def to_bytes(self) -> bytes:
        payload = {
            "booster": base64.b64encode(bytes(self.booster.save_raw("json"))).decode(),
            "calibrator": self.calibrator.__dict__,
            "mean_delay_if_late": self.mean_delay_if_late,
            "metrics": self.metrics,
            "features": FEATURES,
            "scorer": self.scorer,
            "reason": self.reason,
        }
        return json.dumps(payload).encode()

    @staticmethod
    def compatible(data: bytes) -> bool:
        """Whether stored bytes were trained on this version's feature set."""
        return bool(json.loads(data).get("features") == FEATURES)

    @classmethod
    def from_bytes(cls, data: bytes) -> DisruptionModel:
        payload = json.loads(data)
        if not cls.compatible(data):
            raise IncompatibleModelError("the stored model was trained on another feature set; retrain it")
        booster = xgb.Booster()
        booster.load_model(bytearray(base64.b64decode(payload["booster"])))
        return cls(
            booster,
            Calibrator(**payload["calibrator"]),
            payload["mean_delay_if_late"],
            payload["metrics"],
            payload.get("scorer", MODEL_SCORER),
            payload.get("reason", ""),
        )


def baseline_probability(features: pd.DataFrame) -> np.ndarray:
    """The supplier's shrunk historical late rate: the baseline every model must beat."""
    return features["supplier_late_rate"].to_numpy(dtype=float)


def rate_probability(features: pd.DataFrame) -> np.ndarray:
    """The supplier's late rate on the line's shipment mode in the last weeks: the booster's starting point."""
    return _sigmoid(offset_margin(features))


def baseline_explanations(features: pd.DataFrame, feature: str | None = None) -> list[list[dict[str, Any]]]:
    """The one rate a rate scorer reads (default: the baseline's ``supplier_late_rate``), as an explanation."""
    feature = feature or "supplier_late_rate"
    return [
        [{"feature": feature, "label": FEATURE_LABELS[feature], "value": round(float(p), 4), "contribution": None,
          "direction": "raises"}]
        for p in features[feature].to_numpy(dtype=float)
    ]  # fmt: skip


def calibrate(
    booster: xgb.Booster,
    calibration_features: pd.DataFrame,
    calibration_labels: np.ndarray,
    calibration_delay: np.ndarray,
    method: Calibration | None = None,
) -> DisruptionModel:
    margin, reference = raw_margin(booster, calibration_features), reference_margin(calibration_features)
    calibrator = Calibrator.fit(margin, calibration_labels, method, reference)
    late = calibration_delay[calibration_labels > 0]
    mean_delay = float(late.mean()) if len(late) else 3.0
    return DisruptionModel(booster, calibrator, mean_delay)


def classification_metrics(labels: np.ndarray, probability: np.ndarray, bins: int = 10) -> dict[str, float | None]:
    """ROC AUC, PR AUC (average precision), Brier score and expected calibration error (equal-width bins)."""
    labels = np.asarray(labels, dtype=float)
    probability = np.clip(np.asarray(probability, dtype=float), 0, 1)
    both = len(np.unique(labels)) == 2
    return {
        "rows": len(labels),
        "positive_rate": round(float(labels.mean()), 4) if len(labels) else 0.0,
        # None (not NaN, which JSON cannot carry) when only one class occurs.
        "roc_auc": round(float(roc_auc_score(labels, probability)), 4) if both else None,
        "pr_auc": round(float(average_precision_score(labels, probability)), 4) if both else None,
        "brier": round(float(brier_score_loss(labels, probability)), 4),
        "ece": round(expected_calibration_error(labels, probability, bins), 4),
    }


def expected_calibration_error(labels: np.ndarray, probability: np.ndarray, bins: int = 10) -> float:
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(probability, edges[1:-1]), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            error += mask.mean() * abs(probability[mask].mean() - labels[mask].mean())
    return float(error)


def reliability_table(labels: np.ndarray, probability: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """Per probability bin: rows, mean predicted, observed rate (for the reliability check)."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(probability, edges[1:-1]), 0, bins - 1)
    table = []
    for b in range(bins):
        mask = which == b
        if mask.any():
            table.append(
                {
                    "bin": b,
                    "rows": int(mask.sum()),
                    "predicted": float(probability[mask].mean()),
                    "observed": float(labels[mask].mean()),
                }
            )
    return table


class LogisticBaseline:
    """Logistic regression on the same features (standardised, missing values imputed): a baseline."""

    def __init__(self) -> None:
        from sklearn.impute import SimpleImputer
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        self.pipeline = make_pipeline(
            SimpleImputer(strategy="median"), StandardScaler(), LogisticRegression(max_iter=500)
        )

    def fit(self, features: pd.DataFrame, labels: np.ndarray) -> LogisticBaseline:
        self.pipeline.fit(features[FEATURES].replace([np.inf, -np.inf], np.nan), labels)
        return self

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        probability: np.ndarray = self.pipeline.predict_proba(features[FEATURES].replace([np.inf, -np.inf], np.nan))[
            :, 1
        ]
        return probability


def _required(reference: np.ndarray | None) -> np.ndarray:
    if reference is None:
        raise ValueError("the shrink calibration needs the reference log-odds of each line")
    return reference


def _sigmoid(x: np.ndarray) -> np.ndarray:
    result: np.ndarray = 1.0 / (1.0 + np.exp(-x))
    return result
