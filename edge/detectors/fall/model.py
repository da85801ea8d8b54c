"""The fall detector's learned score: boosted depth-2 trees, numpy only, from a JSON file."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from edge.detectors.fall.config import FallConfig
from edge.detectors.fall.features import check_names
from edge.detectors.fall.recovery import RecoveryRule
from edge.detectors.signal import F64

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


class FallModel:
    """Gradient-boosted depth-2 trees over the features the file names.

    Tree ``i`` splits on ``feature[i][0] > split[i][0]`` (an index into ``features``), then
    on node 1 (left) or 2 (right) the same way, ending in one of four ``leaf`` values; the
    score is the logistic of ``base`` plus the sum of the leaves, all trees at once. The
    file also carries the alarm ``threshold`` and the waist's recovery angles (``recovery``:
    ``lying_deg``, ``upright_deg``) chosen with the weights.
    """

    def __init__(self, data: dict[str, Any], source: str) -> None:
        self.features = check_names(data.get("features", ()), source)
        if not self.features:
            raise ValueError(f"fall model {source}: names no features")
        self.base = float(data["base"])
        self.feature = np.asarray(data["feature"], dtype=np.intp).reshape(-1, 3)
        self.split = np.asarray(data["split"], dtype=np.float64).reshape(-1, 3)
        self.leaf = np.asarray(data["leaf"], dtype=np.float64).reshape(-1, 4)
        self.threshold = float(data["threshold"])
        rec = data.get("recovery", {})
        self.lying_deg = float(rec.get("lying_deg", RecoveryRule().lying_deg))
        self.upright_deg = float(rec.get("upright_deg", RecoveryRule().upright_deg))
        self.source = source
        if not (len(self.feature) == len(self.split) == len(self.leaf)):
            raise ValueError(f"fall model {source}: feature, split and leaf differ in length")
        n = len(self.features)
        if len(self.feature) and not 0 <= self.feature.min() <= self.feature.max() < n:
            raise ValueError(f"fall model {source}: a tree uses a feature index out of range")

    def margin(self, feats: F64) -> F64:
        """Log-odds of a fall for each feature row (columns in ``features`` order)."""
        x = np.atleast_2d(feats)
        if x.shape[1] != len(self.features):
            raise ValueError(
                f"fall model {self.source}: {x.shape[1]} feature columns, "
                f"expected {len(self.features)}"
            )
        if not len(self.feature):
            return np.full(len(x), self.base)
        right = x[:, self.feature[:, 0]] > self.split[:, 0]
        f1 = np.where(right, self.feature[:, 2], self.feature[:, 1])
        s1 = np.where(right, self.split[:, 2], self.split[:, 1])
        leaf = 2 * right + (np.take_along_axis(x, f1, axis=1) > s1)
        values = np.take_along_axis(
            np.broadcast_to(self.leaf, (len(x), *self.leaf.shape)), leaf[..., None], axis=2
        )
        return np.asarray(self.base + values[..., 0].sum(axis=1), dtype=np.float64)

    def score(self, feats: F64) -> F64:
        """Fall probability of each feature row, in [0, 1]."""
        return np.asarray(1.0 / (1.0 + np.exp(-self.margin(feats))), dtype=np.float64)


@lru_cache(maxsize=8)
def load_model(path: str) -> FallModel:
    """Load (once) a fall model file; a bad file raises ValueError naming it."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return FallModel(data, path)
    except (OSError, KeyError, TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f"fall model {path}: cannot load: {exc}") from exc


def model_path(cfg: FallConfig) -> str:
    """Weights file for a configuration."""
    return cfg.weights or str(DATA_DIR / f"fall_{cfg.placement}.json")
