"""Fall detector accuracy on WEDA-FALL (wrist) or SisFall (waist), through the gateway's path.

Every trial under ``--root`` is found by walking files (any subset of subjects), cut into
blocks of about one second, wrapped in ``Reading`` objects (kind accel, (n, 3) in g, the
trial's own sample timestamps) and pushed through ``FallDetector.feed`` with a ``tick`` after
each block, exactly as the gateway does, with the default configuration.

Sensitivity: fall trials with an alarm within the fall (WEDA: ``fall_timestamps.csv`` span,
SisFall: label-2 span, each +-``--margin`` s; anywhere in the trial without them).
Specificity: daily-activity trials with no alarm at all.

``--loso`` re-trains the model leaving each subject out (``bench/train_fall.py``) and scores
every subject with the model that never saw it: the honest figure for unseen people.

    python bench/fall_accuracy.py --dataset weda [--root DIR] [--json] [--loso] [--decimate 2]
    python bench/fall_accuracy.py              # both datasets, shipped model
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from edge.detectors.fall import FallConfig, FallDetector, FallModel, waist_defaults  # noqa: E402
from protocol import AlarmKind, Reading, ReadingKind  # noqa: E402

G = 9.80665
EPOCH = 1_700_000_000.0  # trials are placed at this epoch; only differences matter
DEFAULT_ROOTS = {
    "weda": REPO.parent / "shared" / "datasets" / "weda-fall",
    "sisfall": REPO.parent / "shared" / "datasets" / "sisfall",
}
WEDA_RE = re.compile(r"^(U(\d+))_R(\d+)_accel\.csv$")
SISFALL_RE = re.compile(r"^([DF]\d\d)_(S[AE]\d\d)_R(\d+)\.txt$")


@dataclass(frozen=True)
class Trial:
    """One recording: who, what, and where the fall is (if any)."""

    dataset: str
    path: Path
    subject: str
    activity: str
    age_group: str
    fall: bool
    window: tuple[float, float] | None  # fall span, seconds from trial start
    label_path: Path | None = None


def discover(dataset: str, root: Path, old_from: int = 21) -> list[Trial]:
    """All trials under ``root``; WEDA subjects numbered >= ``old_from`` are the older group."""
    if dataset == "weda":
        return _discover_weda(root, old_from)
    return _discover_sisfall(root)


def _discover_weda(root: Path, old_from: int) -> list[Trial]:
    spans: dict[str, tuple[float, float]] = {}
    for ts_file in sorted(root.rglob("fall_timestamps.csv")):
        with ts_file.open(encoding="utf-8-sig") as fh:
            for row in csv.reader(fh):
                if len(row) >= 3 and row[0] != "filename":
                    spans[row[0].strip()] = (float(row[1]), float(row[2]))
    trials = []
    for path in sorted(root.rglob("*_accel.csv")):
        m = WEDA_RE.match(path.name)
        if not m:
            continue
        activity = path.parent.name
        key = f"{activity}/{m.group(1)}_R{m.group(3)}"
        fall = activity.startswith("F")
        trials.append(
            Trial(
                dataset="weda",
                path=path,
                subject=m.group(1),
                activity=activity,
                age_group="old" if int(m.group(2)) >= old_from else "young",
                fall=fall,
                window=spans.get(key) if fall else None,
            )
        )
    return trials


def _discover_sisfall(root: Path) -> list[Trial]:
    trials = []
    for path in sorted(root.rglob("*.txt")):
        m = SISFALL_RE.match(path.name)
        if not m or "labels" in path.parts[len(root.parts) :]:
            continue
        subject = m.group(2)
        label = root / "labels" / subject / path.name
        trials.append(
            Trial(
                dataset="sisfall",
                path=path,
                subject=subject,
                activity=m.group(1),
                age_group="old" if subject.startswith("SE") else "young",
                fall=m.group(1).startswith("F"),
                window=None,
                label_path=label if label.exists() else None,
            )
        )
    return trials


def load(trial: Trial) -> tuple[np.ndarray, np.ndarray, tuple[float, float] | None]:
    """(times s from start, (n, 3) accel in g, fall span or None) of a trial."""
    if trial.dataset == "weda":
        d = np.loadtxt(trial.path, delimiter=",", skiprows=1, ndmin=2)
        return d[:, 0], d[:, 1:4] / G, trial.window
    lines = trial.path.read_text(encoding="utf-8", errors="replace").splitlines()
    text = "\n".join(ln.replace(";", "") for ln in lines if ln.count(",") == 8)
    raw = np.loadtxt(io.StringIO(text), delimiter=",", ndmin=2)
    t = np.arange(len(raw)) / 200.0
    window = None
    if trial.label_path is not None:
        labels = np.loadtxt(trial.label_path, ndmin=1)[: len(raw)]
        idx = np.flatnonzero(labels == 2)
        if len(idx):
            window = (float(t[idx[0]]), float(t[idx[-1]]))
    return t, raw[:, 0:3] * 32.0 / 8192.0, window


def readings(t: np.ndarray, x: np.ndarray, device: str, block_s: float) -> Iterator[Reading]:
    """Cut a trial into ~``block_s`` accel readings with per-sample timestamps."""
    edges = np.searchsorted(t, np.arange(t[0], t[-1] + block_s, block_s), side="left")
    for a, b in zip(edges[:-1], [*edges[1:-1].tolist(), len(t)], strict=True):
        if b > a:
            ts = EPOCH + t[a:b]
            yield Reading(device, float(ts[0]), ReadingKind.ACCEL, samples=x[a:b], sample_ts=ts)


def default_config(dataset: str) -> FallConfig:
    """The configuration the gateway runs for the placement of this dataset."""
    return FallConfig() if dataset == "weda" else waist_defaults()


@dataclass
class Outcome:
    """What the detector did on one trial."""

    trial: Trial
    alarms: list[float]  # impact times, s from trial start
    decided: list[float]  # decision times, s from trial start
    window: tuple[float, float] | None
    recovered: list[float] = field(default_factory=list)  # fall_recovered hints, s from start


def run_trial(
    trial: Trial,
    cfg: FallConfig,
    *,
    model: FallModel | None = None,
    observer: Callable[[float, np.ndarray, float], None] | None = None,
    block_s: float = 1.0,
    decimate: int = 1,
) -> Outcome:
    """Stream one trial through a fresh detector; ``decimate`` keeps every n-th sample
    (a slower device: WEDA at 2 is a 25 Hz band)."""
    t, x, window = load(trial)
    t, x = t[::decimate], x[::decimate]
    rate = (50.0 if trial.dataset == "weda" else 200.0) / decimate  # devices' nominal rates
    det = FallDetector(cfg, device_id="dev-1", model=model, observer=observer, sample_rate_hz=rate)
    dets = []
    for r in readings(t, x, "dev-1", block_s):
        dets += det.feed(r)
        dets += det.tick(r.end_ts)
    dets += det.tick(EPOCH + float(t[-1]) + 2 * cfg.flush_after_s)
    active = [d for d in dets if d.active and d.kind == AlarmKind.FALL]
    return Outcome(
        trial,
        [d.ts - EPOCH for d in active],
        [float(d.details["decided_at"]) - EPOCH for d in active],
        window,
        [d.ts - EPOCH for d in dets if d.active and d.kind == AlarmKind.FALL_RECOVERED],
    )


def detected(o: Outcome, margin: float) -> tuple[bool, float | None]:
    """Whether a fall trial was detected within the fall, and the delay from fall start."""
    for ts, dec in zip(o.alarms, o.decided, strict=True):
        if o.window is None:
            return True, None
        if o.window[0] - margin <= ts <= o.window[1] + margin:
            return True, dec - o.window[0]
    return False, None


def summarize(outcomes: list[Outcome], margin: float) -> dict[str, Any]:
    """Sensitivity, specificity, per age group and activity, delays."""

    def rate(hits: int, n: int) -> float | None:
        return round(hits / n, 4) if n else None

    groups: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    acts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    delays: list[float] = []
    for o in outcomes:
        key = "falls" if o.trial.fall else "adls"
        if o.trial.fall:
            ok, delay = detected(o, margin)
            if delay is not None:
                delays.append(delay)
        else:
            ok = not o.alarms
        for bucket in (groups[o.trial.age_group], groups["all"], acts[o.trial.activity]):
            bucket[key] += 1
            bucket[key + "_ok"] += int(ok)
            bucket[key + "_hint"] += int(bool(o.recovered) and not o.alarms)

    def figures(b: dict[str, int]) -> dict[str, Any]:
        return {
            "fall_trials": b["falls"],
            "adl_trials": b["adls"],
            "sensitivity": rate(b["falls_ok"], b["falls"]),
            "specificity": rate(b["adls_ok"], b["adls"]),
            # trials whose only output was a fall_recovered hint (a hint is not an alarm)
            "recovered_hints": {"fall_trials": b["falls_hint"], "adl_trials": b["adls_hint"]},
        }

    d = np.asarray(delays)
    return {
        "trials": len(outcomes),
        "subjects": len({o.trial.subject for o in outcomes}),
        **figures(groups["all"]),
        "per_age_group": {g: figures(b) for g, b in sorted(groups.items()) if g != "all"},
        "per_activity": {a: figures(b) for a, b in sorted(acts.items())},
        "detection_delay_s": {
            "n": len(d),
            "median": round(float(np.median(d)), 3) if len(d) else None,
            "p90": round(float(np.percentile(d, 90)), 3) if len(d) else None,
            "max": round(float(d.max()), 3) if len(d) else None,
        },
    }


def loso(trials: list[Trial], cfg: FallConfig, decimate: int = 1) -> list[Outcome]:
    """Leave-one-subject-out: each subject scored by a model trained without them."""
    from bench.train_fall import collect, fit

    cands = collect(trials, cfg, decimate)
    out = []
    for subject in sorted({t.subject for t in trials}):
        train = [c for c in cands if c.trial.subject != subject]
        model = FallModel(fit(train, cfg), f"loso-{subject}")
        out += [
            run_trial(t, cfg, model=model, decimate=decimate)
            for t in trials
            if t.subject == subject
        ]
    return out


def print_table(res: dict[str, Any], title: str) -> None:
    """Human-readable figures."""

    def pct(v: float | None) -> str:
        return "   -  " if v is None else f"{100 * v:5.1f}%"

    print(title)
    print(f"trials {res['trials']}  subjects {res['subjects']}")
    print(f"{'group':<10}{'falls':>6}{'sens':>8}{'ADLs':>6}{'spec':>8}{'hints':>7}")
    rows = [("all", res), *res["per_age_group"].items(), *res["per_activity"].items()]
    for name, f in rows:
        hints = f["recovered_hints"]["fall_trials"] + f["recovered_hints"]["adl_trials"]
        print(
            f"{name:<10}{f['fall_trials']:>6}{pct(f['sensitivity']):>8}"
            f"{f['adl_trials']:>6}{pct(f['specificity']):>8}{hints or '':>7}"
        )
    print(f"detection delay from fall start, s: {res['detection_delay_s']}")


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", choices=["weda", "sisfall"], action="append", help="default: both")
    ap.add_argument("--root", type=Path, default=None, help="dataset folder (default: shared)")
    ap.add_argument("--json", action="store_true", help="print JSON")
    ap.add_argument("--loso", action="store_true", help="leave-one-subject-out re-training")
    ap.add_argument("--margin", type=float, default=1.0, help="slack around the fall span, s")
    ap.add_argument("--old-from", type=int, default=21, help="WEDA: first older subject number")
    ap.add_argument(
        "--decimate", type=int, default=1, help="keep every n-th sample (2: WEDA as a 25 Hz band)"
    )
    args = ap.parse_args(argv)
    results = []
    for dataset in args.dataset or ["weda", "sisfall"]:
        root = args.root or DEFAULT_ROOTS[dataset]
        trials = discover(dataset, root, args.old_from)
        if not trials:
            print(f"no {dataset} trials found under {root}", file=sys.stderr)
            return 2
        cfg = default_config(dataset)
        dec = args.decimate
        if args.loso:
            outcomes = loso(trials, cfg, dec)
        else:
            outcomes = [run_trial(t, cfg, decimate=dec) for t in trials]
        res = summarize(outcomes, args.margin)
        res["dataset"], res["root"] = dataset, str(root)
        res["evaluation"] = "leave-one-subject-out" if args.loso else "shipped model"
        res["decimate"] = dec
        results.append(res)
        if not args.json:
            print_table(res, f"{dataset} ({res['evaluation']}) under {root}")
    if args.json:
        print(json.dumps(results[0] if len(results) == 1 else results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
