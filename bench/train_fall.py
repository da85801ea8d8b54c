"""Train the fall detector's logistic stage from ../shared/datasets, deterministically.

Candidates come from the detector itself (its trigger and features, via the ``observer``
hook, default configuration), so training sees exactly what the gateway computes. Labels:
a candidate of a fall trial inside the fall span (+-1 s) is a fall; every candidate of a
daily-activity trial is not; other candidates of fall trials are left out. The model is an
L2-regularized, class-balanced logistic regression fitted by Newton's method (numpy only);
the alarm threshold is the one that minimizes ``missed falls + fp_cost * false alarms`` over
trials of the training set.

    python bench/train_fall.py            # fit both placements, compare with shipped weights
    python bench/train_fall.py --write    # fit and write edge/detectors/data/fall_*.json
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.fall_accuracy import (  # noqa: E402
    DEFAULT_ROOTS,
    Trial,
    default_config,
    discover,
    load,
    run_trial,
)
from edge.detectors.fall import DATA_DIR, FEATURES, FallConfig, FallModel  # noqa: E402

MARGIN_S = 1.0
L2 = 1.0
FP_COST = 3.0


@dataclass
class Candidates:
    """Every scored candidate of one trial: times (s from start), features, labels."""

    trial: Trial
    ts: np.ndarray
    feats: np.ndarray
    labels: np.ndarray  # 1 fall, 0 not a fall, -1 left out


def _null_model() -> FallModel:
    n = len(FEATURES)
    data = {
        "features": list(FEATURES),
        "mean": [0.0] * n,
        "scale": [1.0] * n,
        "coef": [0.0] * n,
        "intercept": 0.0,
        "threshold": 2.0,  # above any score: nothing fires, every candidate is observed
    }
    return FallModel(data, "null")


def collect(trials: list[Trial], cfg: FallConfig) -> list[Candidates]:
    """Stream every trial through the detector and keep its candidates."""
    out = []
    null = _null_model()
    for trial in trials:
        seen: list[tuple[float, np.ndarray]] = []
        o = run_trial(trial, cfg, model=null, observer=lambda ts, f, _s: seen.append((ts, f)))
        ts = np.array([s[0] for s in seen]) - 1_700_000_000.0
        feats = np.array([s[1] for s in seen]).reshape(-1, len(FEATURES))
        if not trial.fall:
            labels = np.zeros(len(ts), dtype=int)
        elif o.window is None:
            labels = np.full(len(ts), -1, dtype=int)
            labels[np.argmax(feats[:, 0])] = 1 if len(ts) else -1
        else:
            inside = (ts >= o.window[0] - MARGIN_S) & (ts <= o.window[1] + MARGIN_S)
            labels = np.where(inside, 1, -1)
        out.append(Candidates(trial, ts, feats, labels))
    return out


def _logistic(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, float]:
    """Weighted L2 logistic regression by Newton's method; returns (coef, intercept)."""
    a = np.column_stack((x, np.ones(len(x))))
    beta = np.zeros(a.shape[1])
    reg = np.full(a.shape[1], L2)
    reg[-1] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(a @ beta)))
        grad = a.T @ (w * (p - y)) + reg * beta
        hess = (a * (w * p * (1 - p))[:, None]).T @ a + np.diag(reg) + 1e-9 * np.eye(len(beta))
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-10:
            break
    return beta[:-1], float(beta[-1])


def fit(cands: list[Candidates], cfg: FallConfig) -> dict[str, Any]:
    """Fit the model and choose its threshold on these trials."""
    x = np.vstack([c.feats for c in cands])
    y = np.concatenate([c.labels for c in cands])
    x, y = x[y >= 0], y[y >= 0].astype(np.float64)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-6] = 1.0
    z = (x - mean) / scale
    w = np.where(y == 1, 0.5 / max(1.0, y.sum()), 0.5 / max(1.0, (1 - y).sum())) * len(y)
    coef, intercept = _logistic(z, y, w)
    model = {
        "features": list(FEATURES),
        "mean": mean.tolist(),
        "scale": scale.tolist(),
        "coef": coef.tolist(),
        "intercept": intercept,
        "threshold": 0.5,
    }
    scorer = FallModel(model, "fit")
    fall_best, adl_best = [], []
    for c in cands:
        s = scorer.score(c.feats) if len(c.feats) else np.zeros(0)
        if c.trial.fall:
            fall_best.append(float(s[c.labels == 1].max()) if (c.labels == 1).any() else 0.0)
        else:
            adl_best.append(float(s.max()) if len(s) else 0.0)
    fb, ab = np.asarray(fall_best), np.asarray(adl_best)
    grid = np.unique(np.round(np.concatenate((fb, ab, [0.5])), 6))
    cost = [(fb < g).sum() + FP_COST * (ab >= g).sum() for g in grid]
    model["threshold"] = float(grid[int(np.argmin(cost))])
    model["placement"] = cfg.placement
    model["trained_on"] = sorted({c.trial.subject for c in cands})
    model["trials"] = len(cands)
    return model


def train(dataset: str, root: Path) -> dict[str, Any]:
    """Weights for a dataset's placement, from every trial under ``root``."""
    cfg = default_config(dataset)
    return fit(collect(discover(dataset, root), cfg), cfg)


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="write the shipped weight files")
    ap.add_argument("--dataset", choices=["weda", "sisfall"], action="append")
    args = ap.parse_args(argv)
    for dataset in args.dataset or ["weda", "sisfall"]:
        model = train(dataset, DEFAULT_ROOTS[dataset])
        path = DATA_DIR / f"fall_{default_config(dataset).placement}.json"
        text = json.dumps(model, indent=1) + "\n"
        if args.write:
            path.write_text(text, encoding="utf-8")
            print(f"{dataset}: wrote {path} (threshold {model['threshold']:.3f})")
        else:
            same = path.exists() and path.read_text(encoding="utf-8") == text
            print(f"{dataset}: threshold {model['threshold']:.3f}; matches {path.name}: {same}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
