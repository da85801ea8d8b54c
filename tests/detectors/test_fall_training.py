"""The fall model's training procedure: features by name, honest folds, faithful replay,
band variants, and shipped weights that the procedure reproduces."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bench.fall_accuracy import per_subject, rule_of, subsample
from bench.falldata import VARIANTS, default_config, discover, load, play, run_trial
from bench.train_fall import (
    Counts,
    collect,
    evaluate,
    subject_folds,
    train,
    train_dataset,
)
from edge.detectors.fall import DATA_DIR, FallModel, RecoveryRule, load_model, model_path


def some(trials: list, per_activity: int = 1) -> list:
    """A few trials of every activity, falls and daily life, several subjects."""
    seen: dict[str, int] = {}
    out = []
    for t in trials:
        if seen.get(t.activity, 0) < per_activity:
            seen[t.activity] = seen.get(t.activity, 0) + 1
            out.append(t)
    return out


@pytest.fixture(scope="module")
def weda(datasets_dir: Path) -> list:
    return discover("weda", datasets_dir / "weda-fall")


@pytest.fixture(scope="module")
def sisfall(datasets_dir: Path) -> list:
    return discover("sisfall", datasets_dir / "sisfall")


@pytest.mark.parametrize("variant", ["recorded", "25hz-mirrored"])
def test_replayed_decisions_are_the_streamed_ones(weda: list, variant: str) -> None:
    """The learning curve and the inner folds judge trials from the detector's candidates;
    that must say exactly what streaming the trial says."""
    cfg = default_config("weda")
    trials = some(weda, 3)
    model = load_model(model_path(cfg))
    replayed = evaluate(collect(trials, cfg, VARIANTS[variant]), model, cfg, None)
    streamed = [run_trial(t, cfg, variant=VARIANTS[variant]) for t in trials]
    assert replayed == [sum(per_subject([o], 1.0).values(), Counts()) for o in streamed]
    assert any(r.falls_ok for r in replayed) and any(r.adls_ok for r in replayed)


def test_replay_follows_the_recovery_rule(sisfall: list) -> None:
    """SisFall D13 (lying down quickly, sitting up again), scored as a fall (threshold
    0.2), is a hint with the shipped angles, an alarm with a rule that needs a deeper
    lie-down than it had; streaming agrees."""
    cfg = default_config("sisfall").model_copy(update={"threshold": 0.2})
    trial = next(t for t in sisfall if t.path.stem == "D13_SA03_R04")
    data = json.loads(Path(model_path(cfg)).read_text(encoding="utf-8"))
    model = FallModel({**data, "threshold": 0.2}, "low")
    [c] = collect([trial], cfg, VARIANTS["recorded"])
    assert evaluate([c], model, cfg, rule_of(model, cfg)) == [Counts(adls=1, adls_ok=1)]
    assert run_trial(trial, cfg).alarms == []
    deep = RecoveryRule(lying_deg=170.0, upright_deg=30.0)
    assert evaluate([c], model, cfg, deep) == [Counts(adls=1, adls_ok=0)]
    assert run_trial(trial, cfg.model_copy(update={"lying_deg": 170.0})).alarms


def test_features_are_built_by_name(weda: list) -> None:
    """A model file whose features are listed in another order (indices remapped) scores
    the same stream the same: the detector computes what the file names."""
    cfg = default_config("weda")
    data = json.loads((DATA_DIR / "fall_wrist.json").read_text(encoding="utf-8"))
    names = data["features"]
    order = list(reversed(range(len(names))))
    moved = {**data, "features": [names[i] for i in order]}
    moved["feature"] = [[order.index(i) for i in tree] for tree in data["feature"]]
    trial = next(t for t in weda if t.fall)
    scores: list[list[float]] = [[], []]
    for slot, d in enumerate((data, moved)):
        run_trial(
            trial,
            cfg,
            model=FallModel(d, "test"),
            observer=lambda _t, _f, s, slot=slot: scores[slot].append(s),
        )
    assert scores[0] and scores[0] == scores[1]


def test_a_model_file_naming_an_unknown_feature_is_refused(tmp_path: Path) -> None:
    data = json.loads((DATA_DIR / "fall_wrist.json").read_text(encoding="utf-8"))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**data, "features": ["peak_gg", *data["features"][1:]]}))
    with pytest.raises(ValueError, match=r"bad\.json.*unknown features \['peak_gg'\]"):
        load_model(str(bad))
    model = load_model(str(DATA_DIR / "fall_wrist.json"))
    with pytest.raises(ValueError, match="feature columns"):
        model.margin(np.zeros((1, len(model.features) + 1)))


def test_subject_folds_partition_the_subjects_and_spread_the_fallers(weda: list) -> None:
    cands = collect(some(weda, 40), default_config("weda"), VARIANTS["recorded"])
    subjects = {c.trial.subject for c in cands}
    fallers = {c.trial.subject for c in cands if c.trial.fall}
    folds = subject_folds(cands, 4, seed=0)
    assert set().union(*folds) == subjects and sum(map(len, folds)) == len(subjects)
    assert all(len(f & fallers) >= len(fallers) // 4 for f in folds)


def test_the_procedure_sees_only_its_training_subjects(weda: list) -> None:
    """What the outer folds rely on: the model (and every choice in it) comes from the
    candidates it is given, never from the held-out subjects."""
    cfg = default_config("weda")
    cands = collect(
        [t for t in weda if t.subject in {"U01", "U02", "U03", "U21"}], cfg, VARIANTS["recorded"]
    )
    model = train(subsample(cands, 3, seed=1), cfg, folds=3)
    assert len(model["trained_on"]) == 3 and set(model["trained_on"]) < {"U01", "U02", "U03", "U21"}
    assert set(model["selection"]["choice"]) == {
        "features",
        "l2",
        "threshold_offset",
        "recovery_deg",
    }


def test_band_variants_turn_mirror_and_decimate(weda: list) -> None:
    trial = weda[0]
    t, x, _ = load(trial)
    _, xr, rate = play(trial, VARIANTS["rotated"])
    _, xm, _ = play(trial, VARIANTS["mirrored"])
    t25, x25, rate25 = play(trial, VARIANTS["25hz"])
    inside = (np.abs(x) < 2.0).all(axis=1)  # far from the 4 g full scale: nothing clipped
    np.testing.assert_allclose(
        np.linalg.norm(xr[inside], axis=1), np.linalg.norm(x[inside], axis=1), rtol=1e-9
    )
    assert not np.allclose(xr, x) and not np.allclose(xm, xr)
    np.testing.assert_array_equal(play(trial, VARIANTS["rotated"])[1], xr)  # same every run
    # mirrored = a reflection: no rotation maps the recording onto it
    a = np.linalg.lstsq(x[inside], xm[inside], rcond=None)[0]
    assert np.linalg.det(a) < 0
    assert (rate, rate25, len(t25)) == (50.0, 25.0, len(t[::2]))
    np.testing.assert_array_equal(x25, x[::2])
    assert np.abs(xr).max() <= 4.0


def test_shipped_weights_are_what_the_procedure_trains(datasets_dir: Path) -> None:
    """``python -m bench.train_fall`` refits both placements and must reproduce the files."""
    for dataset, folder in (("weda", "weda-fall"), ("sisfall", "sisfall")):
        model = train_dataset(dataset, datasets_dir / folder)
        path = DATA_DIR / f"fall_{default_config(dataset).placement}.json"
        assert path.read_text(encoding="utf-8") == json.dumps(model, separators=(",", ":")) + "\n"


def test_the_wrist_model_stays_small() -> None:
    assert (DATA_DIR / "fall_wrist.json").stat().st_size < 300_000


def test_a_held_fall_saved_before_features_were_named_is_restored() -> None:
    """A gateway upgraded during a waist fall's recovery window still raises it."""
    from edge.detectors.fall.detector import HeldFall
    from edge.detectors.fall.features import FIRST_FEATURES

    old = {"p": 5, "t_peak": 1.0, "score": 0.9, "posture": [0.0, -1.0, 0.0]}
    held = HeldFall.from_json({**old, "feats": list(range(len(FIRST_FEATURES)))})
    assert held.values["peak_g"] == 0.0 and held.values["tilt_deg"] == 5.0
    assert HeldFall.from_json(held.to_json()).values == held.values
