"""Train the fall detector's logistic stage from ../shared/datasets, deterministically.

Candidates come from the detector itself (its trigger and features, via the ``observer``
hook, default configuration), so training sees exactly what the gateway computes. Labels:
a candidate of a fall trial inside the fall span (+-1 s) is a fall; every candidate of a
daily-activity trial is not; other candidates of fall trials are left out. The model is
class-balanced logistic gradient boosting of 150 depth-2 trees on quantile bins (numpy);
the alarm threshold is the one that minimizes ``missed falls + FP_COST * false alarms``
over the trials of the training set, moved by ``THRESHOLD_OFFSET`` in log-odds: the trees
are over-confident on the people they were fitted to, and leave-one-subject-out showed the
in-sample threshold about half a log-odds unit too high for unseen people on both datasets.

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
    run_trial,
)
from edge.detectors.fall import DATA_DIR, FEATURES, FallConfig, FallModel  # noqa: E402

MARGIN_S = 1.0
FP_COST = 3.0  # a false alarm costs this many missed falls when choosing the threshold
ROUNDS = 150
LEARNING_RATE = 0.1
N_BINS = 32
L2 = 1.0
MIN_HESS = 1.0
# log-odds added to the in-sample threshold; chosen by leave-one-subject-out (both placements)
THRESHOLD_OFFSET = -0.5


@dataclass
class Candidates:
    """Every scored candidate of one trial: times (s from start), features, labels."""

    trial: Trial
    ts: np.ndarray
    feats: np.ndarray
    labels: np.ndarray  # 1 fall, 0 not a fall, -1 left out


def _null_model() -> FallModel:
    data = {
        "features": list(FEATURES),
        "base": 0.0,
        "feature": [],
        "split": [],
        "leaf": [],
        "threshold": 2.0,  # above any score: nothing fires, every candidate is observed
    }
    return FallModel(data, "null")


def collect(trials: list[Trial], cfg: FallConfig, decimate: int = 1) -> list[Candidates]:
    """Stream every trial (every ``decimate``-th sample) through the detector; keep candidates."""
    out = []
    null = _null_model()
    for trial in trials:
        seen: list[tuple[float, np.ndarray]] = []

        def observe(ts: float, f: np.ndarray, _score: float, seen: list[Any] = seen) -> None:
            seen.append((ts, f))

        o = run_trial(trial, cfg, model=null, observer=observe, decimate=decimate)
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


def _best_split(bins: np.ndarray, g: np.ndarray, h: np.ndarray) -> tuple[float, int, int]:
    """(gain, feature, bin) of the best split ``bin_index > bin`` of a node; feature -1: none."""
    g_all, h_all = g.sum(), h.sum()
    best = (0.0, -1, -1)
    for f in range(bins.shape[1]):
        gs = np.bincount(bins[:, f], weights=g, minlength=N_BINS).cumsum()
        hs = np.bincount(bins[:, f], weights=h, minlength=N_BINS).cumsum()
        gain = gs**2 / (hs + L2) + (g_all - gs) ** 2 / (h_all - hs + L2) - g_all**2 / (h_all + L2)
        gain = np.where((hs >= MIN_HESS) & (h_all - hs >= MIN_HESS), gain, -np.inf)
        b = int(np.argmax(gain))
        if gain[b] > best[0]:
            best = (float(gain[b]), f, b)
    return best


def boost(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> dict[str, Any]:
    """Weighted logistic gradient boosting of depth-2 trees on quantile bins (numpy only)."""
    edges = [
        np.unique(np.quantile(x[:, f], np.linspace(0, 1, N_BINS + 1)[1:-1]))
        for f in range(x.shape[1])
    ]
    bins = np.column_stack(
        [np.searchsorted(edges[f], x[:, f], side="left") for f in range(x.shape[1])]
    )
    p0 = float(np.clip(np.average(y, weights=w), 1e-3, 1 - 1e-3))
    base = float(np.log(p0 / (1 - p0)))
    model: dict[str, Any] = {
        "features": list(FEATURES),
        "base": base,
        "feature": [],
        "split": [],
        "leaf": [],
        "threshold": 0.5,
    }
    margin = np.full(len(y), base)
    for _ in range(ROUNDS):
        p = 1.0 / (1.0 + np.exp(-margin))
        g, h = w * (p - y), w * p * (1 - p)
        _, f0, b0 = _best_split(bins, g, h)
        if f0 < 0:
            break
        feats, splits, leaves = [f0], [float(edges[f0][b0])], []
        right = x[:, f0] > splits[0]
        for side in (~right, right):
            _, f1, b1 = _best_split(bins[side], g[side], h[side])
            f1, t1 = (f0, splits[0]) if f1 < 0 else (f1, float(edges[f1][b1]))
            feats.append(f1)
            splits.append(t1)
            r1 = x[:, f1] > t1
            for node in (side & ~r1, side & r1):
                leaves.append(float(-g[node].sum() / (h[node].sum() + L2)) * LEARNING_RATE)
        model["feature"].append(feats)
        model["split"].append(splits)
        model["leaf"].append(leaves)
        margin = FallModel(model, "boost").margin(x)
    return model


def fit(cands: list[Candidates], cfg: FallConfig) -> dict[str, Any]:
    """Fit the model and choose its threshold on these trials."""
    x = np.vstack([c.feats for c in cands])
    y = np.concatenate([c.labels for c in cands])
    x, y = x[y >= 0], y[y >= 0].astype(np.float64)
    w = np.where(y == 1, 0.5 / max(1.0, y.sum()), 0.5 / max(1.0, (1 - y).sum())) * len(y)
    model = boost(x, y, w)
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
    thr = float(np.clip(grid[int(np.argmin(cost))], 1e-9, 1 - 1e-9))
    logit = float(np.log(thr / (1 - thr))) + THRESHOLD_OFFSET
    model["threshold"] = round(1.0 / (1.0 + float(np.exp(-logit))), 9)
    model["placement"] = cfg.placement
    model["trained_on"] = sorted({c.trial.subject for c in cands})
    model["trials"] = len(cands)
    return model


def train(dataset: str, root: Path, decimate: int = 1) -> dict[str, Any]:
    """Weights for a dataset's placement, from every trial under ``root``."""
    cfg = default_config(dataset)
    return fit(collect(discover(dataset, root), cfg, decimate), cfg)


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="write the shipped weight files")
    ap.add_argument("--dataset", choices=["weda", "sisfall"], action="append")
    args = ap.parse_args(argv)
    for dataset in args.dataset or ["weda", "sisfall"]:
        model = train(dataset, DEFAULT_ROOTS[dataset])
        path = DATA_DIR / f"fall_{default_config(dataset).placement}.json"
        text = json.dumps(model, separators=(",", ":")) + "\n"
        if args.write:
            path.write_text(text, encoding="utf-8")
            print(f"{dataset}: wrote {path} (threshold {model['threshold']:.3f})")
        else:
            same = path.exists() and path.read_text(encoding="utf-8") == text
            print(f"{dataset}: threshold {model['threshold']:.3f}; matches {path.name}: {same}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
