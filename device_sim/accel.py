"""Synthetic accelerometer bursts (in g) for a wristband or a waist pendant: walks, bumps, falls."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]

# Gravity direction while upright and while lying, per placement.
_UPRIGHT = {"wrist": np.array([0.0, -0.2, -0.98]), "waist": np.array([0.0, -1.0, 0.0])}
_LYING = {"wrist": np.array([0.95, 0.1, 0.2]), "waist": np.array([0.1, 0.05, -0.99])}
LIMIT_G = 8.0


def _t(n: int, fs: float) -> F64:
    return np.arange(n, dtype=np.float64) / fs


def _finish(a: F64, rng: np.random.Generator, noise: float = 0.02) -> F64:
    return np.asarray(np.clip(a + rng.normal(0, noise, a.shape), -LIMIT_G, LIMIT_G), np.float64)


def still(
    seconds: float, fs: float, placement: str, rng: np.random.Generator, *, lying: bool = False
) -> F64:
    """Gravity only, the device at rest."""
    g = (_LYING if lying else _UPRIGHT)[placement]
    n = max(1, round(seconds * fs))
    return _finish(np.tile(g, (n, 1)), rng, 0.005)


def walk(seconds: float, fs: float, placement: str, rng: np.random.Generator) -> F64:
    """Walking: arm swing (wrist) or vertical bounce (waist) at ~1.8 steps/s."""
    n = max(1, round(seconds * fs))
    t = _t(n, fs)
    f = rng.uniform(1.5, 2.0)
    g = np.tile(_UPRIGHT[placement], (n, 1))
    if placement == "wrist":
        amp = rng.uniform(0.25, 0.45)
        g[:, 0] += amp * np.sin(np.pi * f * t)
        g[:, 2] += 0.5 * amp * np.sin(2 * np.pi * f * t + 0.7)
    else:
        g[:, 1] += rng.uniform(0.15, 0.3) * np.sin(2 * np.pi * f * t)
        g[:, 0] += 0.08 * np.sin(np.pi * f * t)
    return _finish(g, rng, 0.03)


def _spike(n: int, fs: float, at: float, peak: F64, decay_s: float) -> F64:
    """A damped oscillating impact of vector ``peak`` starting at ``at`` seconds."""
    t = _t(n, fs) - at
    env = np.where(t >= 0, np.exp(-np.clip(t, 0, None) / decay_s) * np.cos(2 * np.pi * 12 * t), 0)
    return np.asarray(env[:, None] * peak[None, :], dtype=np.float64)


def bump(kind: str, fs: float, placement: str, rng: np.random.Generator) -> F64:
    """A daily-life jolt that is not a fall: ``clap``, ``table_hit`` or ``sit_down_hard``."""
    seconds = 3.0
    n = round(seconds * fs)
    a = np.tile(_UPRIGHT[placement], (n, 1))
    if kind == "clap":
        for at in np.arange(0.5, 2.5, 1 / rng.uniform(2.0, 3.0)):
            a += _spike(n, fs, at, rng.uniform(2.0, 4.0) * np.array([1.0, 0.2, 0.1]), 0.03)
    elif kind == "table_hit":
        a += _spike(n, fs, 1.0, rng.uniform(3.0, 5.0) * np.array([0.2, 0.3, 1.0]), 0.04)
    else:
        a += _spike(n, fs, 1.0, rng.uniform(1.2, 2.2) * np.array([0.2, 1.0, 0.3]), 0.08)
    return _finish(a, rng)


def fall(
    fs: float, placement: str, rng: np.random.Generator, *, post_s: float
) -> tuple[F64, float]:
    """Walk, free fall, impact, lying for ``post_s``; returns samples and the impact offset (s)."""
    pre = walk(2.0, fs, placement, rng)
    free_s = rng.uniform(0.3, 0.5)
    nf = max(1, round(free_s * fs))
    free = _finish(np.tile(_UPRIGHT[placement] * rng.uniform(0.1, 0.35), (nf, 1)), rng, 0.05)
    ni = round(1.0 * fs)
    ramp = np.clip(_t(ni, fs) / 0.4, 0, 1)[:, None]
    settle = _UPRIGHT[placement] * (1 - ramp) + _LYING[placement] * ramp
    peak = rng.uniform(3.5, 7.0) * rng.dirichlet([2.0, 2.0, 2.0]) ** 0.5
    impact = _finish(settle + _spike(ni, fs, 0.0, peak, 0.06), rng, 0.05)
    rest = still(post_s, fs, placement, rng, lying=True)
    impact_at = (len(pre) + len(free)) / fs
    return np.concatenate([pre, free, impact, rest]), impact_at
