"""Features of one impact candidate, each built by name.

``FEATURES`` maps a name to the function that computes it from an ``ImpactWindow`` (the
magnitude, raw and low-passed acceleration around the impact). A model file lists the names
it was trained on; the detector computes exactly those, so the list, the weights and the
code cannot drift apart (an unknown name is refused when the model is loaded).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from functools import cached_property

import numpy as np

from edge.detectors.fall.config import FallConfig
from edge.detectors.signal import F64

G_MS2 = 9.80665  # standard gravity, m/s^2

FeatureFn = Callable[["ImpactWindow"], float]
FEATURES: dict[str, FeatureFn] = {}


def feature(name: str) -> Callable[[FeatureFn], FeatureFn]:
    """Register ``fn`` as the feature ``name``."""

    def add(fn: FeatureFn) -> FeatureFn:
        if name in FEATURES:
            raise ValueError(f"fall feature {name!r} registered twice")
        FEATURES[name] = fn
        return fn

    return add


def angle_deg(a: F64, b: F64) -> float:
    """Angle between two vectors, degrees."""
    cos = float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-9))
    return math.degrees(math.acos(max(-1.0, min(1.0, cos))))


def unit_rows(v: F64) -> F64:
    """Each row scaled to unit length."""
    return np.asarray(v / (np.linalg.norm(v, axis=1, keepdims=True) + 1e-9), dtype=np.float64)


def posture_before(grav: F64, p: int, fs: float, cfg: FallConfig) -> F64:
    """Mean gravity from ``pre_s`` to 1 s before the impact at ``p`` (else the sample before)."""
    a, b = max(0, p - round(cfg.pre_s * fs)), max(0, p - round(fs))
    return np.asarray(grav[a:b].mean(axis=0) if b > a else grav[max(0, p - 1)], dtype=np.float64)


def tilt_from(grav: F64, posture: F64) -> F64:
    """Angle of each gravity row from the unit vector ``posture``, degrees."""
    return np.asarray(
        np.degrees(np.arccos(np.clip(unit_rows(grav) @ posture, -1.0, 1.0))), dtype=np.float64
    )


class ImpactWindow:
    """The signals around the impact at index ``p``, valid up to ``end``, with the
    pieces several features share computed once."""

    def __init__(
        self,
        mag: F64,
        xyz: F64,
        grav: F64,
        p: int,
        end: int,
        fs: float,
        cfg: FallConfig,
        device_hz: float = 0.0,
    ) -> None:
        self.mag, self.xyz, self.grav = mag, xyz, grav
        self.p, self.end, self.fs, self.cfg = p, end, fs, cfg
        self.device_hz = device_hz  # the device's nominal rate (0: unknown)

    def span(self, a: float, b: float) -> slice:
        """Samples from ``a`` to ``b`` seconds around the impact, clipped to the data."""
        p, fs = self.p, self.fs
        return slice(max(0, p + round(a * fs)), max(0, min(self.end, p + round(b * fs))))

    @cached_property
    def pre(self) -> slice:
        """Context well before the impact."""
        return self.span(-self.cfg.pre_s, -1.0)

    @cached_property
    def post(self) -> slice:
        """From 1 s after the impact to the end of the post window."""
        return self.span(1.0, self.cfg.post_s)

    @cached_property
    def imp(self) -> slice:
        """The impact itself: 1 s before to 0.5 s after the peak."""
        return self.span(-1.0, 0.5)

    @cached_property
    def dyn(self) -> F64:
        """Dynamic acceleration (raw minus gravity) magnitude."""
        return np.asarray(np.linalg.norm(self.xyz - self.grav, axis=1), dtype=np.float64)

    @cached_property
    def g_pre(self) -> F64:
        """Posture before the impact."""
        return posture_before(self.grav, self.p, self.fs, self.cfg)

    @cached_property
    def rises(self) -> F64:
        """Trigger crossings in the whole window, samples relative to the peak."""
        ctx = self.span(-self.cfg.pre_s, self.cfg.post_s)
        c = self.mag[ctx] >= self.cfg.on_g
        return np.flatnonzero(c[1:] & ~c[:-1]) + 1 + ctx.start - self.p

    @cached_property
    def fall_span(self) -> slice:
        """The second and a half before the impact, where the body falls."""
        return self.span(-1.5, 0.1)

    def mean_after(self, sig: F64) -> F64:
        """Mean of ``sig`` over the post window (else its last valid row)."""
        post = self.post
        return np.asarray(
            sig[post].mean(axis=0) if post.stop > post.start else sig[self.end - 1],
            dtype=np.float64,
        )

    def stat(self, x: F64, fn: Callable[[F64], object], default: float) -> float:
        """``fn(x)`` as a float, or ``default`` for no data."""
        return float(fn(x)) if len(x) else default  # type: ignore[arg-type]


def compute(win: ImpactWindow, names: Iterable[str]) -> F64:
    """The named features of one impact, in the order given."""
    return np.array([FEATURES[n](win) for n in names], dtype=np.float64)


def check_names(names: Iterable[str], source: str) -> tuple[str, ...]:
    """``names`` as a tuple if every one is a known feature; else ValueError naming them."""
    names = tuple(names)
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        raise ValueError(f"fall model {source}: unknown features {unknown}")
    if len(set(names)) != len(names):
        raise ValueError(f"fall model {source}: a feature is listed twice")
    return names


# -- the features ----------------------------------------------------------------------


@feature("peak_g")
def _peak(w: ImpactWindow) -> float:
    return float(w.mag[w.p])


@feature("free_fall_min_g")
def _free_fall_min(w: ImpactWindow) -> float:
    return w.stat(w.mag[w.span(-1.0, 0.0)], np.min, 1.0)


@feature("pre_std_g")
def _pre_std(w: ImpactWindow) -> float:
    return w.stat(w.mag[w.pre], np.std, 0.0)


@feature("post_std_g")
def _post_std(w: ImpactWindow) -> float:
    return w.stat(w.mag[w.post], np.std, 0.0)


@feature("post_dev_g")
def _post_dev(w: ImpactWindow) -> float:
    return abs(w.stat(w.mag[w.post], np.mean, 1.0) - 1.0)


@feature("tilt_deg")
def _tilt(w: ImpactWindow) -> float:
    """Posture change, low-passed gravity before against after."""
    return angle_deg(w.g_pre, w.mean_after(w.grav))


@feature("above_s")
def _above(w: ImpactWindow) -> float:
    ctx = w.span(-w.cfg.pre_s, w.cfg.post_s)
    return float((w.mag[ctx] >= w.cfg.on_g).sum()) / w.fs


@feature("impacts_pre")
def _impacts_pre(w: ImpactWindow) -> float:
    return float(np.count_nonzero(w.rises < -round(0.5 * w.fs)))


@feature("impacts_post")
def _impacts_post(w: ImpactWindow) -> float:
    return float(np.count_nonzero(w.rises > round(0.5 * w.fs)))


@feature("log_jerk")
def _log_jerk(w: ImpactWindow) -> float:
    """Largest change of one axis between samples (depends on how the device sits)."""
    imp = w.imp
    jerk = np.abs(np.diff(w.xyz[imp], axis=0)).max() * w.fs if imp.stop - imp.start > 1 else 0.0
    return math.log1p(jerk)


@feature("log_jerk_norm")
def _log_jerk_norm(w: ImpactWindow) -> float:
    """Largest change of the acceleration vector between samples (any rotation alike)."""
    imp = w.imp
    if imp.stop - imp.start < 2:
        return 0.0
    return math.log1p(float(np.linalg.norm(np.diff(w.xyz[imp], axis=0), axis=1).max()) * w.fs)


@feature("saturated_s")
def _saturated(w: ImpactWindow) -> float:
    return float((np.abs(w.xyz[w.imp]) >= w.cfg.clip_g).any(axis=1).sum()) / w.fs


@feature("impact_area")
def _impact_area(w: ImpactWindow) -> float:
    return float(np.abs(w.mag[w.imp] - 1.0).sum()) / w.fs


@feature("post_dyn_g")
def _post_dyn(w: ImpactWindow) -> float:
    return w.stat(w.dyn[w.post], np.mean, 0.0)


@feature("pre_dyn_g")
def _pre_dyn(w: ImpactWindow) -> float:
    return w.stat(w.dyn[w.pre], np.mean, 0.0)


@feature("free_fall_area")
def _free_fall_area(w: ImpactWindow) -> float:
    return float(np.clip(1.0 - w.mag[w.span(-1.5, 0.0)], 0.0, None).sum()) / w.fs


@feature("post_mean_g")
def _post_mean(w: ImpactWindow) -> float:
    return w.stat(w.mag[w.post], np.mean, 1.0)


@feature("still_frac")
def _still(w: ImpactWindow) -> float:
    return w.stat((w.dyn[w.post] < 0.1).astype(np.float64), np.mean, 0.0)


@feature("v_down_ms")
def _v_down(w: ImpactWindow) -> float:
    """Velocity towards the ground before the impact: acceleration along the low-passed
    gravity direction minus 1 g, integrated, m/s."""
    s = w.fall_span
    acc = (w.xyz[s] * unit_rows(w.grav[s])).sum(axis=1) - 1.0
    return w.stat(np.cumsum(acc) * (G_MS2 / w.fs), np.min, 0.0)


@feature("v_mag_ms")
def _v_mag(w: ImpactWindow) -> float:
    """The same from the magnitude (rotation-free), m/s."""
    return w.stat(np.cumsum(w.mag[w.fall_span] - 1.0) * (G_MS2 / w.fs), np.min, 0.0)


@feature("tilt_raw_deg")
def _tilt_raw(w: ImpactWindow) -> float:
    """Posture change against the raw mean after the impact (no low-pass lag)."""
    return angle_deg(w.g_pre, w.mean_after(w.xyz))


@feature("turn_rate_dps")
def _turn_rate(w: ImpactWindow) -> float:
    """Fastest turn of the gravity direction within 1 s of the impact, deg/s."""
    gu = unit_rows(w.grav[w.span(-1.0, 1.0)])
    cos = np.clip((gu[1:] * gu[:-1]).sum(axis=1), -1.0, 1.0)
    return float(np.degrees(np.arccos(cos)).max()) * w.fs if len(cos) else 0.0


@feature("post_late_std_g")
def _post_late_std(w: ImpactWindow) -> float:
    late = w.span(1.5, w.cfg.post_s)
    return float(np.std(w.mag[late])) if late.stop - late.start > 1 else 0.0


@feature("pre_activity_gps")
def _pre_activity(w: ImpactWindow) -> float:
    pre = w.pre
    return float(np.abs(np.diff(w.mag[pre])).mean()) * w.fs if pre.stop - pre.start > 1 else 0.0


@feature("post_tilt_std_deg")
def _post_tilt_std(w: ImpactWindow) -> float:
    """How much the posture still moves after the impact (a lie-down settles, a stumble
    swings), degrees."""
    post = w.post
    if post.stop - post.start < 2:
        return 0.0
    return float(np.std(tilt_from(w.grav[post], w.g_pre / (np.linalg.norm(w.g_pre) + 1e-9))))


@feature("peak_to_pre_ratio")
def _peak_ratio(w: ImpactWindow) -> float:
    """The impact against the activity before it (a jog's steps are all peaks)."""
    pre = w.mag[w.pre]
    return float(w.mag[w.p] / (np.percentile(pre, 95) if len(pre) else 1.0))


@feature("device_hz")
def _device_hz(w: ImpactWindow) -> float:
    """The device's own sample rate: a 25 Hz band sees a blunter impact than a 50 Hz one."""
    return w.device_hz


ALL_FEATURES: tuple[str, ...] = tuple(FEATURES)
# the first models' 23 features in their order; states saved before features were named
# list a held fall's values in this order
FIRST_FEATURES = (
    "peak_g",
    "free_fall_min_g",
    "pre_std_g",
    "post_std_g",
    "post_dev_g",
    "tilt_deg",
    "above_s",
    "impacts_pre",
    "impacts_post",
    "log_jerk",
    "saturated_s",
    "impact_area",
    "post_dyn_g",
    "pre_dyn_g",
    "free_fall_area",
    "post_mean_g",
    "still_frac",
    "v_down_ms",
    "v_mag_ms",
    "tilt_raw_deg",
    "turn_rate_dps",
    "post_late_std_g",
    "pre_activity_gps",
)

SUMMARY = ("peak_g", "tilt_deg", "post_std_g")  # named in every alarm's message and evidence
