"""Mosquitto credentials and ACLs for a home: one login per device, each fenced to its topic.

Devices that speak MQTT themselves get a login named after their device id that may only
publish on their own topic. Zigbee devices reach the broker through Zigbee2MQTT, which gets
one login for ``zigbee2mqtt/#``. BLE bands reach it through ``carewatch-ble``, whose one login
may publish on the paired bands' topics only. The gateway's login may only read the paired
devices' topics and the simulator clock, and announce itself on its instance topic.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from edge.ble.config import BLE_TOPIC_PREFIX, BLE_USER
from edge.routing import Router
from firmware_profiles import ProfileLibrary
from protocol import HomeManifest
from protocol.topics import CLOCK_TOPIC, GATEWAY_INSTANCE_TOPIC

GATEWAY_USER = "carewatch-gateway"
ZIGBEE_BRIDGE_USER = "zigbee2mqtt"
ZIGBEE_PREFIX = "zigbee2mqtt/"


@dataclass(frozen=True, slots=True)
class BrokerAuth:
    """ACL text and the logins it names."""

    acl: str
    users: list[str]


def broker_auth(home: HomeManifest, library: ProfileLibrary) -> BrokerAuth:
    """The ACL for a home's paired devices and the logins it needs."""
    # What the gateway subscribes to, from the routing table itself (data, availability,
    # Zigbee2MQTT's bridge topics), so the ACL and the subscriptions cannot disagree.
    gateway_reads: set[str] = {CLOCK_TOPIC, *Router(home, library).subscriptions}
    device_rules: list[str] = []
    users = [GATEWAY_USER]
    bridged = False
    ble_topics: list[str] = []
    for dev in home.devices:
        prof = library.get(dev.profile)
        topic = prof.write_topic_filter(dev.device_id)
        if topic.startswith(ZIGBEE_PREFIX):
            bridged = True
            continue
        if topic.startswith(BLE_TOPIC_PREFIX):
            ble_topics.append(topic)
            continue
        users.append(dev.device_id)
        device_rules += [f"user {dev.device_id}", f"topic write {topic}", ""]
    lines = [f"# carewatch broker ACL for home {home.home_id} (generated)", ""]
    lines += [f"user {GATEWAY_USER}", *(f"topic read {t}" for t in sorted(gateway_reads))]
    # Its own instance announcement (edge.sessionguard: a second gateway on its client id).
    lines += [f"topic readwrite {GATEWAY_INSTANCE_TOPIC.format(client_id='+')}", ""]
    if bridged:
        users.append(ZIGBEE_BRIDGE_USER)
        lines += [f"user {ZIGBEE_BRIDGE_USER}", f"topic readwrite {ZIGBEE_PREFIX}#", ""]
    if ble_topics:
        users.append(BLE_USER)
        lines += [f"user {BLE_USER}", *(f"topic write {t}" for t in sorted(ble_topics)), ""]
    return BrokerAuth("\n".join(lines + device_rules), users)


def read_passwords(path: Path) -> dict[str, str]:
    """``user:password`` lines of a plaintext password file (missing file: none)."""
    if not path.exists():
        return {}
    out = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        user, sep, password = line.partition(":")
        if not sep or not user:
            raise ValueError(f"{path}:{number}: expected user:password")
        out[user] = password
    return out


def write_auth(auth: BrokerAuth, out_dir: Path) -> tuple[Path, Path]:
    """Write ``carewatch.acl`` and a plaintext ``passwd`` (existing passwords kept, new ones
    random; hash it with ``mosquitto_passwd -U``). Returns (acl, passwd)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    acl, passwd = out_dir / "carewatch.acl", out_dir / "passwd"
    passwords = read_passwords(passwd)
    for user in auth.users:
        passwords.setdefault(user, secrets.token_urlsafe(18))
    acl.write_text(auth.acl)
    passwd.touch(mode=0o600)
    passwd.write_text("".join(f"{u}:{p}\n" for u, p in passwords.items()))
    return acl, passwd
