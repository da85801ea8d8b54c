"""Fall datasets (WEDA-FALL wrist, SisFall waist) and streaming one trial through the
detector as the gateway does; shared by ``bench.fall_accuracy`` and ``bench.train_fall``.

Every trial under a root is found by walking files (any subset of subjects). A trial can be
played as recorded or as another band would have seen it (``VARIANTS``): turned by a random
rotation (a band sits at any angle), mirrored (the other wrist), decimated to 25 Hz; the
rotation is drawn from the trial's name, so a variant is the same on every run.
"""

from __future__ import annotations

import csv
import io
import os
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from edge.detectors.fall import FallConfig, FallDetector, FallModel, waist_defaults
from protocol import AlarmKind, Reading, ReadingKind

G = 9.80665
EPOCH = 1_700_000_000.0  # trials are placed at this epoch; only differences matter
REPO = Path(__file__).resolve().parent.parent
DATASETS = Path(os.environ.get("CAREWATCH_DATASETS", REPO.parent / "shared" / "datasets"))
DEFAULT_ROOTS = {"weda": DATASETS / "weda-fall", "sisfall": DATASETS / "sisfall"}
NOMINAL_HZ = {"weda": 50.0, "sisfall": 200.0}  # the recording devices' rates
RANGE_G = {"weda": 4.0, "sisfall": 16.0}  # their full scale: a turned axis saturates there
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

    @property
    def name(self) -> str:
        """Activity and file, unique within a dataset."""
        return f"{self.activity}/{self.path.stem}"


@dataclass(frozen=True)
class Variant:
    """How a trial is played: turned at random, mirrored (other wrist), decimated."""

    name: str
    rotate: bool = False
    mirror: bool = False
    decimate: int = 1


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("recorded"),
        Variant("rotated", rotate=True),
        Variant("mirrored", rotate=True, mirror=True),
        Variant("25hz", decimate=2),
        Variant("25hz-mirrored", rotate=True, mirror=True, decimate=2),
    )
}
RECORDED = VARIANTS["recorded"]


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


@lru_cache(maxsize=4096)
def load(trial: Trial) -> tuple[np.ndarray, np.ndarray, tuple[float, float] | None]:
    """(times s from start, (n, 3) accel in g, fall span or None) of a trial (read once)."""
    if trial.dataset == "weda":
        d = np.loadtxt(trial.path, delimiter=",", skiprows=1, ndmin=2)
        return d[:, 0], d[:, 1:4] / G, trial.window
    lines = trial.path.read_text(encoding="utf-8", errors="replace").splitlines()
    text = "\n".join(ln.replace(";", "") for ln in lines if ln.count(",") == 8)
    raw = np.loadtxt(io.StringIO(text), delimiter=",", ndmin=2, usecols=(0, 1, 2))
    t = np.arange(len(raw)) / 200.0
    window = None
    if trial.label_path is not None:
        labels = np.loadtxt(trial.label_path, ndmin=1)[: len(raw)]
        idx = np.flatnonzero(labels == 2)
        if len(idx):
            window = (float(t[idx[0]]), float(t[idx[-1]]))
    return t, raw * 32.0 / 8192.0, window


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A rotation matrix drawn uniformly (QR of a Gaussian matrix, sign-fixed, det +1)."""
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return np.asarray(q, dtype=np.float64)


def play(trial: Trial, variant: Variant = RECORDED) -> tuple[np.ndarray, np.ndarray, float]:
    """(times, accel in g, nominal rate) of a trial as ``variant`` plays it."""
    t, x, _ = load(trial)
    if variant.rotate or variant.mirror:
        rng = np.random.default_rng(zlib.crc32(f"{trial.name}|{variant.name}".encode()))
        x = x.copy()
        if variant.mirror:
            x[:, 0] = -x[:, 0]  # the other wrist: a reflection across the body's midline
        if variant.rotate:
            x = np.clip(x @ random_rotation(rng).T, -RANGE_G[trial.dataset], RANGE_G[trial.dataset])
    d = variant.decimate
    return t[::d], x[::d], NOMINAL_HZ[trial.dataset] / d


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
    tilt_observer: Callable[[float, np.ndarray], None] | None = None,
    block_s: float = 1.0,
    variant: Variant = RECORDED,
) -> Outcome:
    """Stream one trial (as ``variant`` plays it) through a fresh detector, in ~1 s blocks
    with a ``tick`` after each, as the gateway does."""
    t, x, rate = play(trial, variant)
    window = load(trial)[2]
    det = FallDetector(
        cfg,
        device_id="dev-1",
        model=model,
        observer=observer,
        tilt_observer=tilt_observer,
        sample_rate_hz=rate,
    )
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
