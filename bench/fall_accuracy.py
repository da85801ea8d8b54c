"""Fall detector accuracy on WEDA-FALL (wrist) or SisFall (waist), through the gateway's path.

Sensitivity: fall trials with an alarm within the fall (WEDA: ``fall_timestamps.csv`` span,
SisFall: label-2 span, each +-``--margin`` s). Specificity: daily-activity trials with no
alarm at all. Every trial is streamed in ~1 s blocks through ``FallDetector.feed`` with a
``tick`` after each, as the gateway does.

Three kinds of figure, each labelled in the output:

* ``nested`` (the figure for unseen people): subjects are dealt into ``--outer-folds``
  groups; for each, the whole training procedure of ``bench.train_fall`` (features,
  regularisation, threshold offset and recovery angles chosen by an inner subject-grouped
  CV of the other subjects, then a refit on them) builds a model that has never seen the
  group, and the group's trials are streamed through the detector with it, as recorded
  and as other bands would see them (turned, mirrored, 25 Hz).
* ``shipped``: the shipped weights on the same trials, which they were trained on
  (in-sample; not an estimate for unseen people).
* ``learning curve``: the nested figure when each outer fold trains on only n of its
  subjects (the same procedure; decisions replayed from the detector's own candidates,
  which ``tests/detectors/test_fall_training.py`` checks against streaming).

Each figure has a 95 % interval from ``--boot`` bootstrap resamples of the subjects.

    python -m bench.fall_accuracy --dataset weda [--root DIR] [--json] [--no-curve]
    python -m bench.fall_accuracy --shipped-only    # both datasets, shipped model only
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.falldata import (
    DEFAULT_ROOTS,
    VARIANTS,
    Outcome,
    Trial,
    default_config,
    detected,
    discover,
    run_trial,
)
from bench.train_fall import (
    FOLDS,
    TRAIN_VARIANTS,
    Candidates,
    Counts,
    collect_all,
    evaluate,
    subject_folds,
    train,
)
from edge.detectors.fall import FallConfig, FallModel, RecoveryRule

EVAL_VARIANTS: dict[str, tuple[str, ...]] = {
    "weda": ("recorded", "rotated", "mirrored", "25hz", "25hz-mirrored"),
    "sisfall": ("recorded",),
}


def rate(hits: int, n: int) -> float | None:
    """hits / n rounded, None without trials."""
    return round(hits / n, 4) if n else None


def per_subject(outcomes: Sequence[Outcome], margin: float) -> dict[str, Counts]:
    """Trials judged right, per subject."""
    out: dict[str, Counts] = defaultdict(Counts)
    for o in outcomes:
        if o.trial.fall:
            out[o.trial.subject] += Counts(falls=1, falls_ok=int(detected(o, margin)[0]))
        else:
            out[o.trial.subject] += Counts(adls=1, adls_ok=int(not o.alarms))
    return dict(out)


def interval(subjects: dict[str, Counts], n_boot: int, seed: int = 0) -> dict[str, Any]:
    """Pooled sensitivity and specificity with 95 % intervals, subjects resampled."""
    c = np.array(
        [[s.falls, s.falls_ok, s.adls, s.adls_ok] for _, s in sorted(subjects.items())], float
    )
    tot = c.sum(axis=0)
    idx = np.random.default_rng(seed).integers(0, len(c), size=(n_boot, len(c)))
    boot = c[idx].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        sens, spec = boot[:, 1] / boot[:, 0], boot[:, 3] / boot[:, 2]

    def ci(v: np.ndarray) -> list[float] | None:
        v = v[np.isfinite(v)]
        return [round(float(q), 4) for q in np.percentile(v, [2.5, 97.5])] if len(v) else None

    return {
        "fall_trials": int(tot[0]),
        "adl_trials": int(tot[2]),
        "sensitivity": rate(int(tot[1]), int(tot[0])),
        "sensitivity_ci95": ci(sens),
        "specificity": rate(int(tot[3]), int(tot[2])),
        "specificity_ci95": ci(spec),
    }


def summarize(outcomes: Sequence[Outcome], margin: float, n_boot: int) -> dict[str, Any]:
    """Figures with intervals, per age group and activity, delays."""
    groups: dict[str, list[Outcome]] = defaultdict(list)
    acts: dict[str, list[Outcome]] = defaultdict(list)
    delays, hints = [], Counts()
    for o in outcomes:
        groups[o.trial.age_group].append(o)
        acts[o.trial.activity].append(o)
        if o.trial.fall:
            d = detected(o, margin)[1]
            if d is not None:
                delays.append(d)
        if o.recovered and not o.alarms:
            hints += Counts(falls=int(o.trial.fall), adls=int(not o.trial.fall))

    def plain(os: Sequence[Outcome]) -> dict[str, Any]:
        s = sum(per_subject(os, margin).values(), Counts())
        return {
            "fall_trials": s.falls,
            "adl_trials": s.adls,
            "sensitivity": rate(s.falls_ok, s.falls),
            "specificity": rate(s.adls_ok, s.adls),
        }

    d = np.asarray(delays)
    return {
        "trials": len(outcomes),
        "subjects": len({o.trial.subject for o in outcomes}),
        **interval(per_subject(outcomes, margin), n_boot),
        # trials whose only output was a fall_recovered hint (a hint is not an alarm)
        "recovered_hints": {"fall_trials": hints.falls, "adl_trials": hints.adls},
        "per_age_group": {g: plain(v) for g, v in sorted(groups.items())},
        "per_activity": {a: plain(v) for a, v in sorted(acts.items())},
        "detection_delay_s": {
            "n": len(d),
            "median": round(float(np.median(d)), 3) if len(d) else None,
            "p90": round(float(np.percentile(d, 90)), 3) if len(d) else None,
        },
    }


def subsample(cands: Sequence[Candidates], n: int, seed: int) -> list[Candidates]:
    """The candidates of ``n`` of their subjects, fallers in proportion (at least 2)."""
    fallers = sorted({c.trial.subject for c in cands if c.trial.fall})
    others = sorted({c.trial.subject for c in cands} - set(fallers))
    rng = np.random.default_rng(seed)
    k = min(len(fallers), max(2, round(n * len(fallers) / (len(fallers) + len(others)))))
    keep = {*rng.permutation(fallers)[:k].tolist(), *rng.permutation(others)[: n - k].tolist()}
    return [c for c in cands if c.trial.subject in keep]


def rule_of(model: FallModel, cfg: FallConfig) -> RecoveryRule:
    """The recovery rule a detector with this model and config runs."""
    return RecoveryRule(model.lying_deg, model.upright_deg, cfg.recovered_hold_s)


def nested(
    dataset: str,
    trials: Sequence[Trial],
    cfg: FallConfig,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Outer-fold figures through the streaming path, and the learning curve."""
    started = time.process_time()
    cands = collect_all(trials, cfg, TRAIN_VARIANTS[dataset])
    eval_cands = {
        v: [c for c in cands if c.variant == v] or collect_all(trials, cfg, [v])
        for v in EVAL_VARIANTS[dataset]
    }
    folds = subject_folds(cands, args.outer_folds, args.seed)
    outcomes: dict[str, list[Outcome]] = {v: [] for v in EVAL_VARIANTS[dataset]}
    replayed: dict[str, list[Counts]] = {v: [] for v in EVAL_VARIANTS[dataset]}
    choices: list[dict[str, Any]] = []
    curve: dict[int, dict[str, dict[str, Counts]]] = defaultdict(lambda: defaultdict(dict))
    n_train = len({c.trial.subject for c in cands}) - max(len(f) for f in folds)
    sizes = sorted(n for n in args.curve_sizes if n < n_train)
    for i, held in enumerate(folds):
        train_c = [c for c in cands if c.trial.subject not in held]
        data = train(train_c, cfg, folds=args.inner_folds, seed=args.seed)
        model = FallModel(data, f"outer-{i}")
        choices.append({"held_out": sorted(held), **data["selection"]})
        for v in EVAL_VARIANTS[dataset]:
            test = [t for t in trials if t.subject in held]
            outcomes[v] += [run_trial(t, cfg, model=model, variant=VARIANTS[v]) for t in test]
            held_c = [c for c in eval_cands[v] if c.trial.subject in held]
            replayed[v] += evaluate(held_c, model, cfg, rule_of(model, cfg))
        if not args.curve:
            continue
        models = {
            (n, rep): FallModel(
                train(
                    subsample(train_c, n, args.seed + 1000 * rep + i),
                    cfg,
                    folds=min(args.inner_folds, n),
                    seed=args.seed,
                ),
                "curve",
            )
            for n in sizes
            for rep in range(args.curve_repeats)
        }
        models[(-1, 0)] = model  # every training subject of the fold: the nested figure
        for (n, _), m in models.items():
            for v in EVAL_VARIANTS[dataset]:
                held_c = [c for c in eval_cands[v] if c.trial.subject in held]
                for c, k in zip(held_c, evaluate(held_c, m, cfg, rule_of(m, cfg)), strict=True):
                    got = curve[n][v]
                    got[c.trial.subject] = got.get(c.trial.subject, Counts()) + k
    res: dict[str, Any] = {
        "evaluation": "nested subject-grouped CV, outer folds only",
        "outer_folds": len(folds),
        "inner_folds": args.inner_folds,
        "train_variants": list(TRAIN_VARIANTS[dataset]),
        "variants": {v: summarize(o, args.margin, args.boot) for v, o in outcomes.items()},
        "choices": choices,
    }
    # the replay the learning curve uses, against the stream on the same outer folds
    res["replay_agrees"] = {
        v: sum(replayed[v], Counts())
        == sum(per_subject(outcomes[v], args.margin).values(), Counts())
        for v in outcomes
    }
    if args.curve:
        res["learning_curve"] = [
            {
                "train_subjects": n if n > 0 else f"all of the fold's ({n_train}+)",
                "evaluation": "nested outer folds, decisions replayed from candidates",
                "draws": args.curve_repeats if n > 0 else 1,
                **{v: interval(curve[n][v], args.boot) for v in EVAL_VARIANTS[dataset]},
            }
            for n in [*sizes, -1]
        ]
    res["cpu_s"] = round(time.process_time() - started, 1)
    return res


def shipped(
    dataset: str, trials: Sequence[Trial], cfg: FallConfig, args: argparse.Namespace
) -> dict[str, Any]:
    """The shipped weights on every trial (their own training data)."""
    return {
        "evaluation": "shipped model on its own training data (in-sample)",
        "variants": {
            v: summarize(
                [run_trial(t, cfg, variant=VARIANTS[v]) for t in trials], args.margin, args.boot
            )
            for v in EVAL_VARIANTS[dataset]
        },
    }


def pct(v: float | None) -> str:
    """A rate as a percentage."""
    return "  -  " if v is None else f"{100 * v:5.1f}"


def ci(v: list[float] | None) -> str:
    """An interval as percentages."""
    return "" if v is None else f"[{100 * v[0]:.1f}, {100 * v[1]:.1f}]"


def print_figures(title: str, variants: dict[str, dict[str, Any]]) -> None:
    """One line per variant: sensitivity and specificity with intervals."""
    print(title)
    head = f"  {'variant':<15}{'falls':>6}{'sens %':>8} {'95 % CI':<14}{'ADLs':>6}{'spec %':>8}"
    print(head + " 95 % CI")
    for v, f in variants.items():
        print(
            f"  {v:<15}{f['fall_trials']:>6}{pct(f['sensitivity']):>8} "
            f"{ci(f['sensitivity_ci95']):<14}{f['adl_trials']:>6}{pct(f['specificity']):>8} "
            f"{ci(f['specificity_ci95'])}"
        )


def print_detail(res: dict[str, Any]) -> None:
    """Per age group and activity, as recorded."""
    f = res["variants"]["recorded"]
    rows = [*f["per_age_group"].items(), *f["per_activity"].items()]
    print(f"  {'group':<10}{'falls':>6}{'sens %':>8}{'ADLs':>6}{'spec %':>8}   (as recorded)")
    for name, g in rows:
        print(
            f"  {name:<10}{g['fall_trials']:>6}{pct(g['sensitivity']):>8}"
            f"{g['adl_trials']:>6}{pct(g['specificity']):>8}"
        )
    print(f"  detection delay from fall start, s: {f['detection_delay_s']}")
    print(f"  fall_recovered hints only: {f['recovered_hints']}")


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", choices=["weda", "sisfall"], action="append", help="default: both")
    ap.add_argument("--root", type=Path, default=None, help="dataset folder (default: shared)")
    ap.add_argument("--json", action="store_true", help="print JSON")
    ap.add_argument("--shipped-only", action="store_true", help="only the shipped model")
    ap.add_argument("--no-curve", dest="curve", action="store_false", help="skip the curve")
    ap.add_argument("--outer-folds", type=int, default=5, help="subject groups held out")
    ap.add_argument("--inner-folds", type=int, default=FOLDS, help="inner CV folds")
    ap.add_argument(
        "--curve-sizes", type=int, nargs="+", default=[3, 5, 7, 9], help="training subjects"
    )
    ap.add_argument("--curve-repeats", type=int, default=2, help="draws per curve size")
    ap.add_argument("--boot", type=int, default=2000, help="bootstrap resamples of subjects")
    ap.add_argument("--seed", type=int, default=0, help="fold and draw seed")
    ap.add_argument("--margin", type=float, default=1.0, help="slack around the fall span, s")
    ap.add_argument("--old-from", type=int, default=21, help="WEDA: first older subject number")
    args = ap.parse_args(argv)
    results = []
    for dataset in args.dataset or ["weda", "sisfall"]:
        root = args.root or DEFAULT_ROOTS[dataset]
        trials = discover(dataset, root, args.old_from)
        if not trials:
            print(f"no {dataset} trials found under {root}", file=sys.stderr)
            return 2
        cfg = default_config(dataset)
        res: dict[str, Any] = {"dataset": dataset, "root": str(root)}
        res["trials"], res["subjects"] = len(trials), len({t.subject for t in trials})
        if not args.shipped_only:
            res["nested"] = nested(dataset, trials, cfg, args)
        res["shipped"] = shipped(dataset, trials, cfg, args)
        results.append(res)
        if args.json:
            continue
        print(f"== {dataset} under {root}: {res['trials']} trials, {res['subjects']} subjects")
        if "nested" in res:
            n = res["nested"]
            title = f"nested CV ({n['outer_folds']} outer x {n['inner_folds']} inner folds), "
            print_figures(title + "outer folds only: the figure for unseen people", n["variants"])
            print_detail(n)
            for c in n["choices"]:
                print(f"  fold {c['held_out']}: chose {c['choice']}")
            print(f"  replayed decisions agree with streaming: {n['replay_agrees']}")
            for p in n.get("learning_curve", []):
                print(f"  learning curve, {p['train_subjects']} training subjects:")
                for v in EVAL_VARIANTS[dataset]:
                    f = p[v]
                    print(
                        f"    {v:<15} sens {pct(f['sensitivity'])} {ci(f['sensitivity_ci95']):<14}"
                        f" spec {pct(f['specificity'])} {ci(f['specificity_ci95'])}"
                    )
            print(f"  CPU {n['cpu_s']} s")
        print_figures(
            "shipped model on its own training data (in-sample)", res["shipped"]["variants"]
        )
    if args.json:
        print(json.dumps(results[0] if len(results) == 1 else results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
