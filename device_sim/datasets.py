"""Recorded accelerometer trials (WEDA-FALL wrist, SisFall waist), resampled to a profile's rate."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

G = 9.80665
DATASETS = ("weda-fall", "sisfall")
PLACEMENT = {"weda-fall": "wrist", "sisfall": "waist"}


class DatasetError(ValueError):
    """A trial that cannot be found or read; the message names the file."""


@dataclass(frozen=True, slots=True)
class Trial:
    """One recorded trial in g at ``rate_hz``; ``fall_at_s`` is the fall onset, if it is a fall."""

    name: str
    dataset: str
    samples: npt.NDArray[np.float64]
    rate_hz: float
    fall_at_s: float | None

    @property
    def duration_s(self) -> float:
        """Length of the trial in seconds."""
        return len(self.samples) / self.rate_hz


def _resample(
    t: npt.NDArray[np.float64], a: npt.NDArray[np.float64], fs: float
) -> npt.NDArray[np.float64]:
    order = np.argsort(t, kind="stable")
    t, a = t[order], a[order]
    grid = np.arange(0.0, t[-1] - t[0], 1.0 / fs) + t[0]
    return np.stack([np.interp(grid, t, a[:, i]) for i in range(3)], axis=1)


def _weda(root: Path, trial: str, fs: float) -> Trial:
    path = root / "weda-fall" / "50Hz" / f"{trial}_accel.csv"
    try:
        data = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64, ndmin=2)
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path}: cannot read WEDA-FALL trial: {exc}") from exc
    if data.shape[1] != 4 or len(data) < 2:
        raise DatasetError(f"{path}: expected 4 columns (time, x, y, z), got shape {data.shape}")
    samples = _resample(data[:, 0], data[:, 1:4] / G, fs)
    fall_at = None
    marks = root / "weda-fall" / "fall_timestamps.csv"
    if trial.startswith("F") and marks.exists():
        with marks.open(encoding="utf-8-sig") as fh:
            for row in csv.reader(fh):
                if row and row[0] == trial:
                    fall_at = float(row[1]) - float(data[0, 0])
    return Trial(trial, "weda-fall", samples, fs, fall_at)


def _sisfall(root: Path, trial: str, fs: float) -> Trial:
    subject = trial.split("_")[1] if "_" in trial else ""
    name = trial.split("/")[-1]
    path = root / "sisfall" / "raw" / subject / f"{name}.txt"
    try:
        text = path.read_text(encoding="utf-8").replace(";", "")
        data = np.loadtxt(text.splitlines(), delimiter=",", dtype=np.float64, ndmin=2)
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path}: cannot read SisFall trial: {exc}") from exc
    if data.shape[1] < 3:
        raise DatasetError(f"{path}: expected 9 columns, got {data.shape[1]}")
    t = np.arange(len(data), dtype=np.float64) / 200.0
    samples = _resample(t, data[:, 0:3] * 32.0 / 8192.0, fs)
    fall_at = None
    labels = root / "sisfall" / "labels" / subject / f"{name}.txt"
    if labels.exists():
        lab = np.loadtxt(labels, dtype=np.int64, ndmin=1)
        hits = np.flatnonzero(lab == 2)
        if len(hits):
            fall_at = float(hits[0]) / 200.0
    return Trial(name, "sisfall", samples, fs, fall_at)


def load_trial(root: str | Path, dataset: str, trial: str, rate_hz: float) -> Trial:
    """Load ``trial`` (e.g. ``F01/U01_R01`` or ``F01_SA01_R01``) from ``root/dataset``."""
    if dataset not in DATASETS:
        raise DatasetError(f"dataset {dataset!r} is unknown; choose one of {', '.join(DATASETS)}")
    if rate_hz <= 0:
        raise DatasetError(f"sample rate {rate_hz} Hz is not positive")
    loader = _weda if dataset == "weda-fall" else _sisfall
    return loader(Path(root), trial, rate_hz)


def list_trials(root: str | Path, dataset: str) -> list[str]:
    """Trial names available for ``dataset`` under ``root``."""
    base = Path(root)
    if dataset == "weda-fall":
        return sorted(
            f"{p.parent.name}/{p.name.removesuffix('_accel.csv')}"
            for p in (base / "weda-fall" / "50Hz").glob("*/*_accel.csv")
        )
    if dataset == "sisfall":
        return sorted(
            p.stem
            for p in (base / "sisfall" / "raw").glob("*/*.txt")
            if not p.name.startswith("Readme")
        )
    raise DatasetError(f"dataset {dataset!r} is unknown; choose one of {', '.join(DATASETS)}")
