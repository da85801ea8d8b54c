"""Heart rate, SpO2 and breathing: circadian rhythm, activity, noise and episodes, vectorized."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from device_sim.episodes import Episode
from device_sim.timeline import Activity

F64 = npt.NDArray[np.float64]

# Heart-rate offset (bpm) per activity code, indexed by Activity value.
_HR_BUMP = np.array([-4.0, 0.0, 8.0, 15.0, 12.0, 10.0, 0.0])
_RAMP_S = 120.0


def _smooth_noise(t: F64, rng: np.random.Generator, amp: float) -> F64:
    """Slow wander: a few random sinusoids (periods 5-90 min), evaluated anywhere in time."""
    periods = rng.uniform(300.0, 5400.0, size=4)
    phases = rng.uniform(0, 2 * np.pi, size=4)
    out = np.zeros_like(t)
    for p, ph in zip(periods, phases, strict=True):
        out += np.sin(2 * np.pi * t / p + ph)
    return amp * out / 2.0


def _weight(t: F64, ep: Episode) -> F64:
    """0..1 strength of an episode at each time, with ramps in and out."""
    end = ep.at + ep.length_s
    w_in = np.clip((t - ep.at) / _RAMP_S, 0.0, 1.0)
    w_out = np.clip((end - t) / _RAMP_S, 0.0, 1.0)
    return np.asarray(w_in * w_out, dtype=np.float64)


def local_hour(t: F64, utc_offset_s: float) -> F64:
    """Hour of the local day (0..24) at each epoch time."""
    return np.asarray(((t + utc_offset_s) % 86400.0) / 3600.0, dtype=np.float64)


def heart_rate(
    t: F64,
    activity: npt.NDArray[np.int64],
    *,
    resting: float,
    utc_offset_s: float,
    rng: np.random.Generator,
    episodes: Sequence[Episode],
) -> F64:
    """Heart rate (bpm, whole numbers) at each time."""
    hr = resting + 5.0 * np.cos(2 * np.pi * (local_hour(t, utc_offset_s) - 16.0) / 24.0)
    hr = hr + _HR_BUMP[activity] + _smooth_noise(t, rng, 3.0) + rng.normal(0, 1.5, t.shape)
    for ep in episodes:
        if ep.kind in ("tachycardia", "bradycardia"):
            target = float(ep.params.get("bpm", 145.0 if ep.kind == "tachycardia" else 38.0))
            w = _weight(t, ep)
            hr = hr * (1 - w) + (target + rng.normal(0, 3.0, t.shape)) * w
        elif ep.kind == "fall":
            hr = hr + 15.0 * np.exp(-np.clip(t - ep.at, 0, None) / 600.0) * (t >= ep.at)
    return np.asarray(np.round(np.clip(hr, 25, 220)), dtype=np.float64)


def spo2(
    t: F64,
    activity: npt.NDArray[np.int64],
    *,
    baseline: float,
    rng: np.random.Generator,
    episodes: Sequence[Episode],
) -> F64:
    """Oxygen saturation (percent, whole numbers) at each time."""
    s = baseline + rng.normal(0, 0.8, t.shape) - 1.0 * (activity == Activity.SLEEP)
    for ep in episodes:
        if ep.kind == "spo2_low":
            w = _weight(t, ep)
            target = float(ep.params.get("spo2", 86.0))
            s = s * (1 - w) + (target + rng.normal(0, 1.0, t.shape)) * w
    return np.asarray(np.round(np.clip(s, 70, 100)), dtype=np.float64)


def breathing_rate(t: F64, activity: npt.NDArray[np.int64], rng: np.random.Generator) -> F64:
    """Breaths per minute at each time (one decimal)."""
    base = np.where(activity == Activity.SLEEP, 13.0, 16.0)
    return np.asarray(np.round(base + rng.normal(0, 1.2, t.shape), 1), dtype=np.float64)
