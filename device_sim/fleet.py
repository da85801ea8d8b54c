"""Many homes from a few templates: fresh ids, residents and coordinates for each copy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from protocol.home import HomeManifest

_FIRST = [
    "Xiuying",
    "Guilan",
    "Jianguo",
    "Dehua",
    "Meiling",
    "Zhiqiang",
    "Shufen",
    "Baoshan",
    "Yulan",
    "Guoqing",
    "Lihua",
    "Jinfeng",
    "Wenbin",
    "Cuiping",
    "Hongwei",
    "Fengying",
]
_LAST = ["Li", "Wang", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu", "Xu", "Sun"]
CENTER = (31.2304, 121.4737)  # People's Square, Shanghai


def _hm(minutes: float) -> str:
    m = int(minutes) % (24 * 60)
    return f"{m // 60:02d}:{m % 60:02d}"


def fleet_homes(templates: Sequence[HomeManifest], n: int, seed: int) -> list[HomeManifest]:
    """``n`` homes cloned round-robin from ``templates``, each with its own ids and resident."""
    if not templates:
        raise ValueError("fleet needs at least one template home manifest")
    rng = np.random.default_rng([seed & 0xFFFFFFFF, 4242])
    homes = []
    for i in range(n):
        data: dict[str, Any] = templates[i % len(templates)].model_dump(mode="json")
        tag = f"f{i:05d}"
        data["home_id"] = f"home-{tag}"
        data["gateway_id"] = f"gw-{tag}"
        data["name"] = f"fleet home {i}"
        data["coordinates"] = {
            "lat": round(CENTER[0] + rng.normal(0, 0.06), 5),
            "lon": round(CENTER[1] + rng.normal(0, 0.07), 5),
        }
        res = data["resident"]
        res["first_name"] = str(rng.choice(_FIRST))
        res["last_name"] = str(rng.choice(_LAST))
        res["birth_year"] = int(rng.integers(1930, 1960))
        res["resting_heart_rate"] = round(float(rng.uniform(58, 84)))
        res["routine"]["wake"] = _hm(rng.normal(6.75 * 60, 40))
        res["routine"]["sleep"] = _hm(rng.normal(21.75 * 60, 40))
        res["routine"]["outings_per_week"] = round(float(rng.uniform(0, 8)), 1)
        for dev in data["devices"]:
            dev["device_id"] = f"{tag}-{dev['device_id']}"
        homes.append(HomeManifest.model_validate(data))
    return homes
