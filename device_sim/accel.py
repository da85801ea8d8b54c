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


def _spike(n: int, fs: float, at: float, peak: F64, decay_s: float, freq_hz: float = 8.0) -> F64:
    """A damped oscillating impact of vector ``peak`` starting at ``at`` seconds.

    The ringing stays below a quarter of the sample rate, so a 25 Hz band does not alias it.
    """
    t = _t(n, fs) - at
    ring = np.cos(2 * np.pi * min(freq_hz, fs / 4) * t)
    env = np.where(t >= 0, np.exp(-np.clip(t, 0, None) / decay_s) * ring, 0)
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


# How far the device ends up tipped from upright after a fall, degrees: a waist pendant lies
# flat with the body (SisFall falls end at 80-109 degrees); a wrist can end in most poses.
_FALL_TILT = {"wrist": (50.0, 150.0), "waist": (75.0, 110.0)}


def _tilted(up: F64, rng: np.random.Generator, tilt: tuple[float, float]) -> F64:
    """Gravity direction after tipping over by ``tilt`` degrees about a random horizontal axis."""
    u = up / np.linalg.norm(up)
    axis = np.cross(u, rng.normal(size=3))
    axis /= np.linalg.norm(axis)
    theta = np.deg2rad(rng.uniform(*tilt))
    rotated = u * np.cos(theta) + np.cross(axis, u) * np.sin(theta)
    return np.asarray(rotated, dtype=np.float64)


def _jolts(
    n: int, fs: float, rng: np.random.Generator, lo: float, hi: float, *, towards: F64
) -> F64:
    """``n`` samples of jolting, magnitudes between ``lo`` and ``hi`` g, mostly along
    ``towards`` (a body hitting the floor pushes one way, it does not shake at random)."""
    d = towards[None, :] + 0.35 * rng.normal(size=(n, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    return np.asarray(d * rng.uniform(lo, hi, (n, 1)), dtype=np.float64)


def fall(
    fs: float, placement: str, rng: np.random.Generator, *, post_s: float
) -> tuple[F64, float]:
    """Walk, a short free fall, an impact, a little settling, lying still.

    Shaped after the WEDA-FALL and SisFall trials: 0.1-0.3 s of low |a|; 0.15-0.35 s of hits
    at 1.5-7 g, mostly along one direction (a body hitting the floor, not noise); then well
    under 0.2 g of movement while settling. Returns samples and the impact offset.
    """
    up = _UPRIGHT[placement]
    down = _tilted(up, rng, _FALL_TILT[placement])
    pre = walk(2.5, fs, placement, rng)
    depth = rng.uniform(0.2, 0.6) if placement == "wrist" else rng.uniform(0.05, 0.4)
    free = _finish(np.tile(up * depth, (max(1, round(rng.uniform(0.1, 0.3) * fs)), 1)), rng, 0.06)
    nh = max(2, round(rng.uniform(0.15, 0.35) * fs))
    main = up - down + rng.normal(0, 0.3, 3)
    hits = _jolts(nh, fs, rng, 1.5, rng.uniform(3.0, 7.0), towards=main / np.linalg.norm(main))
    hits[rng.integers(nh)] *= rng.uniform(1.0, 1.5)
    ramp = np.linspace(0.0, 1.0, nh)[:, None]
    impact = _finish(up * (1 - ramp) + down * ramp + hits, rng, 0.05)
    ns = max(2, round(rng.uniform(1.0, 3.0) * fs))
    t = _t(ns, fs)[:, None]
    sway = rng.uniform(0.02, 0.08, 3) * np.sin(2 * np.pi * rng.uniform(0.5, 2, 3) * t)
    struggle = down + sway
    rest = _finish(np.tile(down, (max(1, round(post_s * fs)), 1)), rng, 0.005)
    parts = [pre, free, impact, _finish(struggle, rng, 0.03), rest]
    return np.concatenate(parts), (len(pre) + len(free)) / fs


def fall_recovered(fs: float, placement: str, rng: np.random.Generator) -> tuple[F64, float]:
    """A fall the wearer gets straight back up from: the fall, a moment on the floor, then
    up again within 2.5-6 s of the impact (the trunk turning back to upright over 1-1.5 s),
    and walking on. Returns samples and the impact offset."""
    down_part, impact = fall(fs, placement, rng, post_s=float(rng.uniform(0.5, 1.5)))
    down, up = down_part[-1], _UPRIGHT[placement]
    n = max(2, round(rng.uniform(1.0, 1.5) * fs))
    w = np.linspace(0.0, 1.0, n)[:, None]
    g = (1 - w) * down + w * up
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    effort = 0.1 * np.sin(2 * np.pi * rng.uniform(1.0, 2.0) * _t(n, fs))[:, None] * up
    rise = _finish(g + effort, rng, 0.04)
    return np.concatenate(
        [down_part, rise, walk(rng.uniform(4.0, 6.0), fs, placement, rng)]
    ), impact
