"""Train the fall detector from ../shared/datasets, every choice made by subject-grouped CV.

Candidates come from the detector itself (its trigger, every named feature and the tilt
after each impact, via its observers, default configuration), so training sees exactly what
the gateway computes. Labels: a candidate of a fall trial inside the fall span (+-1 s) is a
fall; every candidate of a daily-activity trial is not; other candidates of fall trials are
left out. The wrist trains on every trial as recorded, turned at random, mirrored (the
other wrist) and at 25 Hz (``TRAIN_VARIANTS``).

The model is class-balanced logistic gradient boosting of depth-2 trees on quantile bins
(numpy). Its in-sample threshold minimises ``missed falls + FP_COST * false alarms`` over
the training trials. What is chosen, and how: the feature set, the L2 regularisation, the
offset added to that threshold (log-odds) and, on the waist, the recovery rule's angles
are the grid point (``grid``) with the least ``miss rate + FA_WEIGHT * false-alarm rate``
over the held-out folds of a subject-grouped ``folds``-fold CV of the training subjects
(``select``); the model is then refitted on all of them with that choice (``train``). The
bench (``bench.fall_accuracy``) runs this whole procedure inside each outer fold.

    python -m bench.train_fall            # refit both placements; exit 1 unless the shipped
                                          # weights are reproduced exactly
    python -m bench.train_fall --write    # refit and write edge/detectors/data/fall_*.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.falldata import (
    DEFAULT_ROOTS,
    VARIANTS,
    Trial,
    Variant,
    default_config,
    discover,
    load,
    run_trial,
)
from edge.detectors.fall import ALL_FEATURES, DATA_DIR, FallConfig, FallModel, RecoveryRule
from edge.detectors.fall.features import FIRST_FEATURES

MARGIN_S = 1.0
FP_COST = 3.0  # a false alarm costs this many missed falls for the in-sample threshold
FA_WEIGHT = 2.0  # selection loss: miss rate + FA_WEIGHT * false-alarm rate (fixed a priori)
ROUNDS = 150
LEARNING_RATE = 0.1
N_BINS = 32
MIN_HESS = 1.0
FOLDS = 4  # inner folds
SEED = 0

BASE_FEATURES = FIRST_FEATURES
ROTATION_FREE = tuple("log_jerk_norm" if f == "log_jerk" else f for f in BASE_FEATURES)
FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "base": BASE_FEATURES,
    "rotation-free": ROTATION_FREE,
    "extended": (*ROTATION_FREE, "post_tilt_std_deg", "peak_to_pre_ratio"),
    "extended+rate": (*ROTATION_FREE, "post_tilt_std_deg", "peak_to_pre_ratio", "device_hz"),
}
L2_GRID = (1.0, 10.0)
OFFSETS = (-1.0, -0.75, -0.5, -0.25, 0.0)
RECOVERY_GRID = tuple(
    RecoveryRule(lying, upright) for lying in (50.0, 60.0, 70.0) for upright in (25.0, 30.0, 40.0)
)
TRAIN_VARIANTS: dict[str, tuple[str, ...]] = {
    "weda": ("recorded", "rotated", "mirrored", "25hz", "25hz-mirrored"),
    "sisfall": ("recorded",),
}


@dataclass(frozen=True)
class Fit:
    """Hyper-parameters that need a refit."""

    features: str
    l2: float


@dataclass(frozen=True)
class Choice:
    """One grid point: a fit, a threshold offset, a recovery rule (None: no recovery)."""

    fit: Fit
    offset: float
    rule: RecoveryRule | None

    def describe(self) -> dict[str, Any]:
        """Plain JSON."""
        rule = None if self.rule is None else [self.rule.lying_deg, self.rule.upright_deg]
        return {
            "features": self.fit.features,
            "l2": self.fit.l2,
            "threshold_offset": self.offset,
            "recovery_deg": rule,
        }


@dataclass
class Candidates:
    """Every scored candidate of one trial as one variant played it."""

    trial: Trial
    variant: str
    ts: np.ndarray  # s from trial start
    feats: np.ndarray  # (n, len(ALL_FEATURES))
    labels: np.ndarray  # 1 fall, 0 not a fall, -1 left out
    tilts: list[np.ndarray]  # per candidate: tilt from the posture before, from the impact on
    window: tuple[float, float] | None


def null_model() -> FallModel:
    """A model that scores nothing; its file names every feature, so all are observed."""
    data = {"features": list(ALL_FEATURES), "base": 0.0, "feature": [], "split": []}
    return FallModel({**data, "leaf": [], "threshold": 1.0}, "null")


def collect(trials: Iterable[Trial], cfg: FallConfig, variant: Variant) -> list[Candidates]:
    """Stream every trial through the detector; keep its candidates and their tilt."""
    out = []
    null = null_model()
    hold_all = cfg.model_copy(update={"threshold": 0.0, "refractory_s": 0.0})
    for trial in trials:
        seen: list[tuple[float, np.ndarray]] = []
        tilts: list[np.ndarray] = []
        run_trial(
            trial,
            hold_all,
            model=null,
            observer=lambda ts, f, _s, seen=seen: seen.append((ts, f)),
            tilt_observer=lambda _ts, tilt, tilts=tilts: tilts.append(tilt.astype(np.float32)),
            variant=variant,
        )
        if len(tilts) != len(seen):
            raise RuntimeError(f"{trial.name}: {len(seen)} candidates, {len(tilts)} tilts")
        ts = np.array([s[0] for s in seen]) - 1_700_000_000.0
        feats = np.array([s[1] for s in seen]).reshape(-1, len(ALL_FEATURES))
        window = load(trial)[2]
        if not trial.fall:
            labels = np.zeros(len(ts), dtype=int)
        elif window is None:
            labels = np.full(len(ts), -1, dtype=int)
            if len(ts):
                labels[np.argmax(feats[:, 0])] = 1
        else:
            inside = (ts >= window[0] - MARGIN_S) & (ts <= window[1] + MARGIN_S)
            labels = np.where(inside, 1, -1)
        out.append(Candidates(trial, variant.name, ts, feats, labels, tilts, window))
    return out


def collect_all(
    trials: Sequence[Trial], cfg: FallConfig, variants: Iterable[str]
) -> list[Candidates]:
    """``collect`` for each named variant."""
    return [c for v in variants for c in collect(trials, cfg, VARIANTS[v])]


# -- boosting ---------------------------------------------------------------------------


def _best_split(
    bins: np.ndarray, g: np.ndarray, h: np.ndarray, l2: float
) -> tuple[float, int, int]:
    """(gain, feature, bin) of the best split ``bin_index > bin`` of a node; feature -1: none."""
    n_feat = bins.shape[1]
    flat = (bins + np.arange(n_feat) * N_BINS).ravel()
    gs = np.bincount(flat, np.repeat(g, n_feat), n_feat * N_BINS).reshape(n_feat, N_BINS)
    hs = np.bincount(flat, np.repeat(h, n_feat), n_feat * N_BINS).reshape(n_feat, N_BINS)
    gs, hs = gs.cumsum(axis=1), hs.cumsum(axis=1)
    g_all, h_all = g.sum(), h.sum()
    gain = gs**2 / (hs + l2) + (g_all - gs) ** 2 / (h_all - hs + l2) - g_all**2 / (h_all + l2)
    gain = np.where((hs >= MIN_HESS) & (h_all - hs >= MIN_HESS), gain, -np.inf)
    f, b = np.unravel_index(int(np.argmax(gain)), gain.shape)
    return (float(gain[f, b]), int(f), int(b)) if gain[f, b] > 0 else (0.0, -1, -1)


def boost(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, names: Sequence[str], l2: float
) -> dict[str, Any]:
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
    model: dict[str, Any] = {"features": list(names), "base": base}
    model |= {"feature": [], "split": [], "leaf": [], "threshold": 0.5}
    margin = np.full(len(y), base)
    for _ in range(ROUNDS):
        p = 1.0 / (1.0 + np.exp(-margin))
        g, h = w * (p - y), w * p * (1 - p)
        _, f0, b0 = _best_split(bins, g, h, l2)
        if f0 < 0:
            break
        feats, splits, leaves = [f0], [float(edges[f0][b0])], []
        right = x[:, f0] > splits[0]
        for side in (~right, right):
            _, f1, b1 = _best_split(bins[side], g[side], h[side], l2)
            f1, t1 = (f0, splits[0]) if f1 < 0 else (f1, float(edges[f1][b1]))
            feats.append(f1)
            splits.append(t1)
            r1 = x[:, f1] > t1
            for node in (side & ~r1, side & r1):
                leaf = float(-g[node].sum() / (h[node].sum() + l2)) * LEARNING_RATE
                leaves.append(leaf)
                margin[node] += leaf
        model["feature"].append(feats)
        model["split"].append(splits)
        model["leaf"].append(leaves)
    return model


def columns(names: Sequence[str]) -> np.ndarray:
    """Indices of ``names`` among ``ALL_FEATURES``."""
    return np.array([ALL_FEATURES.index(n) for n in names], dtype=np.intp)


def fit(cands: Sequence[Candidates], f: Fit) -> tuple[dict[str, Any], float]:
    """A model fitted on ``cands`` and its in-sample threshold's log-odds."""
    names = FEATURE_SETS[f.features]
    cols = columns(names)
    x = np.vstack([c.feats[:, cols] for c in cands])
    y = np.concatenate([c.labels for c in cands])
    x, y = x[y >= 0], y[y >= 0].astype(np.float64)
    w = np.where(y == 1, 0.5 / max(1.0, y.sum()), 0.5 / max(1.0, (1 - y).sum())) * len(y)
    model = boost(x, y, w, names, f.l2)
    scorer = FallModel(model, "fit")
    fall_best, adl_best = [], []
    for c in cands:
        s = scorer.margin(c.feats[:, cols]) if len(c.feats) else np.zeros(0)
        if c.trial.fall:
            fall_best.append(float(s[c.labels == 1].max()) if (c.labels == 1).any() else -50.0)
        else:
            adl_best.append(float(s.max()) if len(s) else -50.0)
    fb, ab = np.asarray(fall_best), np.asarray(adl_best)
    grid = np.unique(np.round(np.concatenate((fb, ab, [0.0])), 6))
    cost = [(fb < g).sum() + FP_COST * (ab >= g).sum() for g in grid]
    return model, float(np.clip(grid[int(np.argmin(cost))], -20.0, 20.0))


def finish(
    model: dict[str, Any], logit: float, choice: Choice, cands: Sequence[Candidates]
) -> dict:
    """The model file: the fit, its threshold, the recovery angles and what chose them."""
    out = dict(model)
    out["threshold"] = round(1.0 / (1.0 + float(np.exp(-(logit + choice.offset)))), 9)
    if choice.rule is not None:
        out["recovery"] = {
            "lying_deg": choice.rule.lying_deg,
            "upright_deg": choice.rule.upright_deg,
        }
    out["chosen"] = choice.describe()
    out["trained_on"] = sorted({c.trial.subject for c in cands})
    out["trials"] = len({c.trial.name for c in cands})
    out["variants"] = sorted({c.variant for c in cands})
    return out


# -- offline replay of the detector's decision ------------------------------------------


@dataclass(frozen=True)
class Counts:
    """Trials and trials judged right, falls and daily activities."""

    falls: int = 0
    falls_ok: int = 0
    adls: int = 0
    adls_ok: int = 0

    def __add__(self, o: Counts) -> Counts:
        return Counts(
            self.falls + o.falls,
            self.falls_ok + o.falls_ok,
            self.adls + o.adls,
            self.adls_ok + o.adls_ok,
        )

    def loss(self) -> float:
        """Selection loss: miss rate + FA_WEIGHT * false-alarm rate."""
        miss = 1 - self.falls_ok / self.falls if self.falls else 0.0
        fa = 1 - self.adls_ok / self.adls if self.adls else 0.0
        return miss + FA_WEIGHT * fa


def replay(
    c: Candidates, scores: np.ndarray, thr: float, cfg: FallConfig, back: np.ndarray | None
) -> list[float]:
    """Alarm times of one trial: the detector's threshold, refractory and recovery rule
    applied to its candidates (``back[i]``: candidate i's wearer got back up)."""
    alarms, last = [], -np.inf
    for i, ts in enumerate(c.ts):
        if scores[i] < thr or ts - last < cfg.refractory_s:
            continue
        last = ts
        if back is None or not back[i]:
            alarms.append(float(ts))
    return alarms


def judged(c: Candidates, alarms: list[float]) -> Counts:
    """Whether the trial was judged right (fall caught within the span, ADL left alone)."""
    if not c.trial.fall:
        return Counts(adls=1, adls_ok=int(not alarms))
    w = c.window
    ok = bool(alarms) if w is None else any(w[0] - MARGIN_S <= t <= w[1] + MARGIN_S for t in alarms)
    return Counts(falls=1, falls_ok=int(ok))


def recovered(cands: Sequence[Candidates], rule: RecoveryRule, fs: float) -> list[np.ndarray]:
    """Per trial, whether each candidate's wearer got back up under ``rule``."""
    return [
        np.array([rule.recovered_at(t.astype(np.float64), fs) is not None for t in c.tilts], bool)
        for c in cands
    ]


def evaluate(
    cands: Sequence[Candidates], model: FallModel, cfg: FallConfig, rule: RecoveryRule | None
) -> list[Counts]:
    """Per trial, what the detector with ``model`` (its own threshold) and ``rule`` did."""
    cols = columns(model.features)
    backs = recovered(cands, rule, cfg.rate_hz) if rule is not None and cfg.recovery_s else None
    out = []
    for i, c in enumerate(cands):
        s = model.score(c.feats[:, cols]) if len(c.ts) else np.zeros(0)
        out.append(
            judged(c, replay(c, s, model.threshold, cfg, None if backs is None else backs[i]))
        )
    return out


# -- selection ----------------------------------------------------------------------------


def grid(cfg: FallConfig) -> tuple[list[Fit], list[float], list[RecoveryRule | None]]:
    """What is chosen: fits, threshold offsets, recovery rules (the waist's only)."""
    fits = [Fit(f, l2) for f in FEATURE_SETS for l2 in L2_GRID]
    rules: list[RecoveryRule | None] = list(RECOVERY_GRID) if cfg.recovery_s else [None]
    return fits, list(OFFSETS), rules


def subject_folds(cands: Sequence[Candidates], k: int, seed: int) -> list[set[str]]:
    """``k`` groups of subjects, fallers and non-fallers dealt out evenly, seeded."""
    fallers = sorted({c.trial.subject for c in cands if c.trial.fall})
    others = sorted({c.trial.subject for c in cands} - set(fallers))
    rng = np.random.default_rng(seed)
    order = [*rng.permutation(fallers).tolist(), *rng.permutation(others).tolist()]
    folds: list[set[str]] = [set() for _ in range(min(k, len(order)))]
    for i, s in enumerate(order):
        folds[i % len(folds)].add(s)
    return folds


def select(
    cands: Sequence[Candidates], cfg: FallConfig, *, folds: int = FOLDS, seed: int = SEED
) -> tuple[Choice, dict[str, Any]]:
    """The grid point with the least held-out loss over a subject-grouped CV of ``cands``."""
    fits, offsets, rules = grid(cfg)
    totals: dict[Choice, Counts] = {}
    for held in subject_folds(cands, folds, seed):
        train = [c for c in cands if c.trial.subject not in held]
        test = [c for c in cands if c.trial.subject in held]
        backs = {r: recovered(test, r, cfg.rate_hz) for r in rules if r is not None}
        for f in fits:
            model, logit = fit(train, f)
            scorer = FallModel(model, "inner")
            cols = columns(scorer.features)
            margins = [scorer.margin(c.feats[:, cols]) if len(c.ts) else np.zeros(0) for c in test]
            for off, rule in itertools.product(offsets, rules):
                total = totals.get(Choice(f, off, rule), Counts())
                for i, c in enumerate(test):
                    back = None if rule is None else backs[rule][i]
                    total += judged(c, replay(c, margins[i], logit + off, cfg, back))
                totals[Choice(f, off, rule)] = total
    best = min(totals, key=lambda ch: totals[ch].loss())  # first in grid order on ties
    b = totals[best]
    return best, {
        "choice": best.describe(),
        "inner_loss": round(b.loss(), 4),
        "inner_sensitivity": round(b.falls_ok / max(1, b.falls), 4),
        "inner_specificity": round(b.adls_ok / max(1, b.adls), 4),
    }


def train(
    cands: Sequence[Candidates], cfg: FallConfig, *, folds: int = FOLDS, seed: int = SEED
) -> dict[str, Any]:
    """The whole procedure: choose by inner CV, then fit on every candidate with that choice."""
    choice, info = select(cands, cfg, folds=folds, seed=seed)
    model, logit = fit(cands, choice.fit)
    out = finish(model, logit, choice, cands)
    out["selection"] = info
    out["placement"] = cfg.placement
    return out


def train_dataset(dataset: str, root: Path) -> dict[str, Any]:
    """Weights for a dataset's placement, from every trial under ``root``."""
    cfg = default_config(dataset)
    # the procedure sees every threshold and angle; the shipped config leaves them to the file
    cfg = cfg.model_copy(update={"threshold": None, "lying_deg": None, "upright_deg": None})
    return train(collect_all(discover(dataset, root), cfg, TRAIN_VARIANTS[dataset]), cfg)


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="write the shipped weight files")
    ap.add_argument("--dataset", choices=["weda", "sisfall"], action="append")
    args = ap.parse_args(argv)
    same_all = True
    for dataset in args.dataset or ["weda", "sisfall"]:
        model = train_dataset(dataset, DEFAULT_ROOTS[dataset])
        path = DATA_DIR / f"fall_{default_config(dataset).placement}.json"
        text = json.dumps(model, separators=(",", ":")) + "\n"
        chosen = model["chosen"]
        if args.write:
            path.write_text(text, encoding="utf-8")
            print(f"{dataset}: wrote {path} ({len(text)} bytes, chosen {chosen})")
        else:
            same = path.exists() and path.read_text(encoding="utf-8") == text
            same_all &= same
            print(f"{dataset}: chosen {chosen}; matches {path.name}: {same}")
    return 0 if same_all else 1


if __name__ == "__main__":
    sys.exit(main())
