"""Validate a directory of profiles: schema, cross checks, duplicate ids, examples both ways."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

from firmware_profiles.errors import ProfileError
from firmware_profiles.examples import check_example
from firmware_profiles.library import ProfileLibrary, line_of, load_profile, profile_files
from firmware_profiles.profile import DeviceProfile


def validate_dir(
    directory: str | Path, *, extra_dirs: Sequence[str | Path] = ()
) -> tuple[list[DeviceProfile], list[str]]:
    """Every good profile in ``directory`` (and ``extra_dirs``) and every problem as
    ``file:line: field: message``: schema, cross checks, examples both ways, an id or a
    Zigbee2MQTT model defined twice."""
    good: list[DeviceProfile] = []
    problems: list[str] = []
    seen: dict[str, Path] = {}
    paths = [p for d in (directory, *extra_dirs) for p in profile_files(d)]
    for path in paths:
        try:
            prof = load_profile(path)
        except ProfileError as exc:
            problems += str(exc).splitlines()
            continue
        root = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
        if prof.id in seen:
            line = line_of(root, ("id",))
            problems.append(
                f"{path}:{line}: id: duplicate profile id {prof.id!r}, see {seen[prof.id]}"
            )
            continue
        seen[prof.id] = path
        failed = False
        for i, example in enumerate(prof.examples):
            line = line_of(root, ("examples", i))
            for problem in check_example(prof, example):
                problems.append(f"{path}:{line}: examples.{i}: {problem}")
                failed = True
        if not failed:
            good.append(prof)
    try:
        ProfileLibrary(good)
    except ProfileError as exc:
        problems += str(exc).splitlines()
    return good, problems
