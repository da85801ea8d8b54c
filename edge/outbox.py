"""The durable outbox: alarms, alarm updates, telemetry batches and the quarantine, in SQLite.

WAL mode with ``synchronous=FULL``: a row is on the card when ``write`` returns, so an
alarm survives ``kill -9`` and power loss from then on. Rows are small (one per alarm,
update, minute batch or quarantined message); raw samples never land here.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from edge.items import Quarantined
from edge.mending import mend
from protocol import Alarm, AlarmAction, AlarmUpdate, FailedDelivery, Severity, TelemetryBatch
from protocol.envelopes import new_id

DB_NAME = "outbox.sqlite3"

Table = Literal["alarms", "updates", "telemetry"]
Record = Alarm | AlarmUpdate | TelemetryBatch | Quarantined

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alarms (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    alarm_id TEXT NOT NULL UNIQUE,
    alarm_key TEXT,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    rank INTEGER NOT NULL,
    device_id TEXT,
    body TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at REAL NOT NULL,
    delivered_at REAL,
    is_open INTEGER NOT NULL DEFAULT 1,
    current_severity TEXT NOT NULL,
    mended TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS alarms_pending ON alarms (state, rank, seq);
CREATE TABLE IF NOT EXISTS updates (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    update_id TEXT NOT NULL UNIQUE,
    alarm_id TEXT NOT NULL,
    action TEXT NOT NULL,
    severity TEXT,
    body TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at REAL NOT NULL,
    delivered_at REAL,
    mended TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS updates_pending ON updates (state, seq);
CREATE TABLE IF NOT EXISTS telemetry (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    batch_id TEXT NOT NULL UNIQUE,
    points INTEGER NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at REAL NOT NULL,
    delivered_at REAL
);
CREATE TABLE IF NOT EXISTS quarantine (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at REAL NOT NULL,
    topic TEXT NOT NULL,
    device_id TEXT,
    reason TEXT NOT NULL,
    payload BLOB NOT NULL,
    payload_len INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

# Columns added since the first release: an outbox from an older gateway gets them on open.
_ADDED = {
    "alarms": {"alarm_key": "TEXT", "mended": "TEXT NOT NULL DEFAULT ''"},
    "updates": {"mended": "TEXT NOT NULL DEFAULT ''"},
}

_ID_COLUMN: dict[Table, str] = {
    "alarms": "alarm_id",
    "updates": "update_id",
    "telemetry": "batch_id",
}


@dataclass(frozen=True, slots=True)
class Pending:
    """One envelope waiting for the cloud."""

    id: str
    body: str


@dataclass(frozen=True, slots=True)
class OpenAlarm:
    """An alarm whose condition has not ended, as stored, with its gateway-local key."""

    alarm: Alarm
    severity: Severity
    key: str


class Outbox:
    """One gateway's durable queue towards the cloud, plus its quarantine."""

    def __init__(
        self,
        data_dir: str | Path,
        *,
        quarantine_keep: int = 1000,
        quarantine_payload_bytes: int = 512,
        telemetry_keep: int = 10080,
    ) -> None:
        self.path = Path(data_dir) / DB_NAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.quarantine_keep = quarantine_keep
        self.quarantine_payload_bytes = quarantine_payload_bytes
        self.telemetry_keep = telemetry_keep
        self.db = sqlite3.connect(self.path, isolation_level=None, timeout=10.0)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(_SCHEMA)
        self._upgrade()
        self._quarantined_since_trim = 0
        self._chosen: dict[str, str] = {}  # local key -> cloud id, not yet committed
        self._keys: dict[str, str] = {}  # the reverse

    def _upgrade(self) -> None:
        for table, columns in _ADDED.items():
            have = {r[1] for r in self.db.execute(f"PRAGMA table_info({table})")}
            for name, ddl in columns.items():
                if name not in have:
                    self.db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {ddl}")
        self.db.execute("UPDATE alarms SET alarm_key = alarm_id WHERE alarm_key IS NULL")
        self.db.execute("CREATE UNIQUE INDEX IF NOT EXISTS alarms_key ON alarms (alarm_key)")

    def cloud_id(self, key: str) -> str:
        """The id the cloud sees for a gateway-local alarm key: random, chosen once, kept.

        A replay of the messages behind an alarm (after a crash, or a broker reconnect)
        finds the id already stored, or already chosen and on its way to the outbox.
        """
        row = self.db.execute("SELECT alarm_id FROM alarms WHERE alarm_key = ?", (key,)).fetchone()
        if row is not None:
            return str(row[0])
        chosen = self._chosen.get(key)
        if chosen is None:
            chosen = self._chosen[key] = new_id()
            self._keys[chosen] = key
        return chosen

    def close(self) -> None:
        """Checkpoint the WAL and close."""
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.db.close()

    # -- writing ------------------------------------------------------------------------

    def write(self, records: Sequence[Record]) -> None:
        """Commit records in one transaction; a repeated id is stored once."""
        now = time.time()
        with self._tx():
            for rec in records:
                if isinstance(rec, Alarm):
                    self._add_alarm(rec, now)
                elif isinstance(rec, AlarmUpdate):
                    self._add_update(rec, now)
                elif isinstance(rec, TelemetryBatch):
                    self._add_telemetry(rec, now)
                else:
                    self._add_quarantine(rec)
            self._trim()
        for rec in records:
            if isinstance(rec, Alarm) and rec.alarm_id in self._keys:
                self._chosen.pop(self._keys.pop(rec.alarm_id), None)

    def _tx(self) -> _Transaction:
        return _Transaction(self.db)

    def _add_alarm(self, alarm: Alarm, now: float) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO alarms (alarm_id, alarm_key, kind, severity, rank, device_id,"
            " body, created_at, current_severity) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                alarm.alarm_id,
                self._keys.get(alarm.alarm_id, alarm.alarm_id),
                alarm.kind.value,
                alarm.severity.value,
                alarm.severity.rank,
                alarm.device_id,
                alarm.model_dump_json(),
                now,
                alarm.severity.value,
            ),
        )

    def _add_update(self, update: AlarmUpdate, now: float) -> None:
        row = self.db.execute(
            "SELECT state, last_error FROM alarms WHERE alarm_id = ?", (update.alarm_id,)
        ).fetchone()
        refused = row is not None and row[0] == "failed"  # kept beside its alarm, not pending
        cur = self.db.execute(
            "INSERT OR IGNORE INTO updates (update_id, alarm_id, action, severity, body,"
            " created_at, state, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                update.update_id,
                update.alarm_id,
                update.action.value,
                update.severity.value if update.severity else None,
                update.model_dump_json(),
                now,
                "failed" if refused else "pending",
                f"its alarm was refused: {row[1]}"[:500] if refused else None,
            ),
        )
        if cur.rowcount == 0:
            return
        if update.action in (AlarmAction.CLEAR, AlarmAction.CANCEL):
            self.db.execute("UPDATE alarms SET is_open = 0 WHERE alarm_id = ?", (update.alarm_id,))
        if update.severity is not None:
            self.db.execute(
                "UPDATE alarms SET current_severity = ?, rank = MIN(rank, ?) WHERE alarm_id = ?",
                (update.severity.value, update.severity.rank, update.alarm_id),
            )

    def _add_telemetry(self, batch: TelemetryBatch, now: float) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO telemetry (batch_id, points, body, created_at)"
            " VALUES (?, ?, ?, ?)",
            (batch.batch_id, len(batch.points), batch.model_dump_json(), now),
        )

    def _add_quarantine(self, q: Quarantined) -> None:
        self.db.execute(
            "INSERT INTO quarantine (received_at, topic, device_id, reason, payload, payload_len)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                q.received_at,
                q.topic[:256],
                q.device_id,
                q.reason[:500],
                q.payload[: self.quarantine_payload_bytes],
                len(q.payload),
            ),
        )
        self._bump("quarantine_total", 1)
        self._quarantined_since_trim += 1

    def _trim(self) -> None:
        if self._quarantined_since_trim >= max(1, self.quarantine_keep // 10):
            self._quarantined_since_trim = 0
            self.db.execute(
                "DELETE FROM quarantine WHERE seq <= (SELECT MAX(seq) FROM quarantine) - ?",
                (self.quarantine_keep,),
            )

    def _bump(self, name: str, by: int) -> None:
        self.db.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?)"
            " ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
            (name, by),
        )

    # -- delivery -----------------------------------------------------------------------

    def pending_alarms(self, limit: int) -> list[Pending]:
        """Undelivered alarms, most urgent first, then oldest first."""
        rows = self.db.execute(
            "SELECT alarm_id, body FROM alarms WHERE state = 'pending' ORDER BY rank, seq LIMIT ?",
            (limit,),
        ).fetchall()
        return [Pending(r[0], r[1]) for r in rows]

    def pending_updates(self, limit: int) -> list[Pending]:
        """Undelivered updates whose alarm the cloud already has, oldest first."""
        rows = self.db.execute(
            "SELECT u.update_id, u.body FROM updates u JOIN alarms a ON a.alarm_id = u.alarm_id"
            " WHERE u.state = 'pending' AND a.state = 'delivered' ORDER BY u.seq LIMIT ?",
            (limit,),
        ).fetchall()
        return [Pending(r[0], r[1]) for r in rows]

    def pending_telemetry(self, limit: int) -> list[Pending]:
        """Undelivered telemetry batches, oldest first."""
        rows = self.db.execute(
            "SELECT batch_id, body FROM telemetry WHERE state = 'pending' ORDER BY seq LIMIT ?",
            (limit,),
        ).fetchall()
        return [Pending(r[0], r[1]) for r in rows]

    def mark_delivered(self, table: Table, ids: Iterable[str]) -> None:
        """The cloud acknowledged these ids."""
        now = time.time()
        col = _ID_COLUMN[table]
        with self._tx():
            self.db.executemany(
                f"UPDATE {table} SET state = 'delivered', delivered_at = ?,"
                f" attempts = attempts + 1, last_error = NULL WHERE {col} = ?",
                [(now, i) for i in ids],
            )
            if table == "telemetry":
                self.db.execute("DELETE FROM telemetry WHERE state = 'delivered'")

    def mark_failed(self, table: Table, failures: dict[str, str]) -> None:
        """The cloud refused these ids for good; kept with the reason, never dropped, and
        so are the updates of a refused alarm (they could never be delivered either)."""
        col = _ID_COLUMN[table]
        with self._tx():
            self.db.executemany(
                f"UPDATE {table} SET state = 'failed', attempts = attempts + 1, last_error = ?"
                f" WHERE {col} = ?",
                [(reason[:500], i) for i, reason in failures.items()],
            )
            if table == "alarms":
                self.db.executemany(
                    "UPDATE updates SET state = 'failed', last_error = ?"
                    " WHERE alarm_id = ? AND state = 'pending'",
                    [(f"its alarm was refused: {r}"[:500], i) for i, r in failures.items()],
                )

    def refused(self, table: Table, failures: dict[str, str]) -> dict[str, str]:
        """The cloud refused these ids: mend what can be mended (sent again), keep the rest
        as failed. Returns {id: field mended} of those sent again."""
        mended: dict[str, str] = {}
        if table != "telemetry":
            col = _ID_COLUMN[table]
            with self._tx():
                for item_id, error in failures.items():
                    row = self.db.execute(
                        f"SELECT body, created_at, mended FROM {table} WHERE {col} = ?", (item_id,)
                    ).fetchone()
                    if row is None:
                        continue
                    done = set(filter(None, row[2].split(",")))
                    fix = mend(table, row[0], error, stored_at=row[1], done=done)
                    if fix is None:
                        continue
                    self.db.execute(
                        f"UPDATE {table} SET body = ?, mended = ?, attempts = attempts + 1,"
                        f" last_error = ? WHERE {col} = ?",
                        (fix.body, ",".join(sorted({*done, fix.field})), error[:500], item_id),
                    )
                    if fix.new_id is not None:
                        self._rename_alarm(item_id, fix.new_id)
                    mended[item_id] = fix.field
        rest = {i: e for i, e in failures.items() if i not in mended}
        if rest:
            self.mark_failed(table, rest)
        return mended

    def _rename_alarm(self, old: str, new: str) -> None:
        self.db.execute("UPDATE alarms SET alarm_id = ? WHERE alarm_id = ?", (new, old))
        rows = self.db.execute(
            "SELECT update_id, body FROM updates WHERE alarm_id = ?", (old,)
        ).fetchall()
        for update_id, body in rows:
            data = json.loads(body)
            data["alarm_id"] = new
            self.db.execute(
                "UPDATE updates SET alarm_id = ?, body = ? WHERE update_id = ?",
                (new, json.dumps(data, separators=(",", ":")), update_id),
            )

    def note_attempt(self, table: Table, ids: Iterable[str], error: str) -> None:
        """A delivery attempt that did not get an answer; retried later."""
        col = _ID_COLUMN[table]
        with self._tx():
            self.db.executemany(
                f"UPDATE {table} SET attempts = attempts + 1, last_error = ? WHERE {col} = ?",
                [(error[:500], i) for i in ids],
            )

    def retry_failed(self) -> int:
        """Put every failed envelope back to pending; returns how many."""
        n = 0
        with self._tx():
            for table in _ID_COLUMN:
                mended = ", mended = ''" if table != "telemetry" else ""
                n += self.db.execute(
                    f"UPDATE {table} SET state = 'pending'{mended} WHERE state = 'failed'"
                ).rowcount
        return n

    def prune(self, *, delivered_keep_s: float) -> None:
        """Forget delivered alarms and updates older than the history window; cap telemetry
        (pending or refused: minute aggregates, unlike alarms, may go once counted)."""
        cutoff = time.time() - delivered_keep_s
        with self._tx():
            self.db.execute(
                "DELETE FROM updates WHERE state = 'delivered' AND delivered_at < ?"
                " AND alarm_id IN (SELECT alarm_id FROM alarms WHERE is_open = 0)",
                (cutoff,),
            )
            self.db.execute(
                "DELETE FROM alarms WHERE state = 'delivered' AND delivered_at < ? AND is_open = 0"
                " AND alarm_id NOT IN (SELECT alarm_id FROM updates)",
                (cutoff,),
            )
            over = self.db.execute(
                "DELETE FROM telemetry WHERE state IN ('pending', 'failed') AND seq <= "
                "(SELECT MAX(seq) FROM telemetry) - ?",
                (self.telemetry_keep,),
            ).rowcount
            if over:
                self._bump("telemetry_dropped", over)

    # -- reading ------------------------------------------------------------------------

    def open_alarms(self) -> list[OpenAlarm]:
        """Alarms whose condition is still open (the alarm manager resumes from these)."""
        rows = self.db.execute(
            "SELECT body, current_severity, alarm_key FROM alarms WHERE is_open = 1 ORDER BY seq"
        ).fetchall()
        return [OpenAlarm(Alarm.model_validate_json(b), Severity(s), k) for b, s, k in rows]

    def backlog(self) -> dict[str, int]:
        """Pending envelopes per table."""
        out: dict[str, int] = {}
        for table in _ID_COLUMN:
            row = self.db.execute(f"SELECT COUNT(*) FROM {table} WHERE state = 'pending'")
            out[table] = int(row.fetchone()[0])
        return out

    def counter(self, name: str) -> int:
        """A persistent counter (quarantine_total, telemetry_dropped, …)."""
        row = self.db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
        return int(row[0]) if row else 0

    def failures(self, limit: int = 20) -> tuple[int, list[FailedDelivery]]:
        """How many envelopes the cloud refused for good (kept here), and the latest."""
        total = 0
        latest: list[tuple[float, FailedDelivery]] = []
        for table, kind, severity in (
            ("alarms", "kind", "current_severity"),
            ("updates", "action", "severity"),
            ("telemetry", "NULL", "NULL"),
        ):
            col = _ID_COLUMN[table]  # type: ignore[index]
            total += int(
                self.db.execute(f"SELECT COUNT(*) FROM {table} WHERE state = 'failed'").fetchone()[
                    0
                ]
            )
            for seq, item_id, k, sev, error in self.db.execute(
                f"SELECT seq, {col}, {kind}, {severity}, last_error FROM {table}"
                " WHERE state = 'failed' ORDER BY seq DESC LIMIT ?",
                (limit,),
            ):
                try:
                    item = FailedDelivery(
                        id=item_id,
                        table=table,  # type: ignore[arg-type]
                        kind=k,
                        severity=Severity(sev) if sev else None,
                        error=(error or "")[:500],
                    )
                except ValueError:  # counted above; never let a report stop the heartbeat
                    continue
                latest.append((seq, item))
        latest.sort(key=lambda x: -x[0])
        return total, [item for _, item in latest[:limit]]

    def report(self, *, limit: int = 200) -> dict[str, Any]:
        """Everything the `outbox` command shows, JSON-ready."""
        alarms = [
            {
                "alarm_id": r[0],
                "kind": r[1],
                "severity": r[2],
                "current_severity": r[3],
                "device_id": r[4],
                "state": r[5],
                "attempts": r[6],
                "last_error": r[7],
                "created_at": r[8],
                "delivered_at": r[9],
                "open": bool(r[10]),
                "mended": r[11],
                "key": r[12],
            }
            for r in self.db.execute(
                "SELECT alarm_id, kind, severity, current_severity, device_id, state, attempts,"
                " last_error, created_at, delivered_at, is_open, mended, alarm_key FROM alarms"
                " ORDER BY seq DESC LIMIT ?",
                (limit,),
            )
        ]
        updates = [
            {
                "update_id": r[0],
                "alarm_id": r[1],
                "action": r[2],
                "severity": r[3],
                "state": r[4],
                "attempts": r[5],
                "last_error": r[6],
                "created_at": r[7],
                "delivered_at": r[8],
            }
            for r in self.db.execute(
                "SELECT update_id, alarm_id, action, severity, state, attempts, last_error,"
                " created_at, delivered_at FROM updates ORDER BY seq DESC LIMIT ?",
                (limit,),
            )
        ]
        quarantine = [
            {
                "received_at": r[0],
                "topic": r[1],
                "device_id": r[2],
                "reason": r[3],
                "payload": bytes(r[4]).decode("utf-8", "replace"),
                "payload_len": r[5],
            }
            for r in self.db.execute(
                "SELECT received_at, topic, device_id, reason, payload, payload_len"
                " FROM quarantine ORDER BY seq DESC LIMIT ?",
                (limit,),
            )
        ]
        states = {
            f"{table}_{state}": int(n)
            for table in _ID_COLUMN
            for state, n in self.db.execute(
                f"SELECT state, COUNT(*) FROM {table} GROUP BY state"
            ).fetchall()
        }
        failed, _ = self.failures(0)
        return {
            "path": str(self.path),
            "counts": {
                **states,
                "failed": failed,
                "quarantine_total": self.counter("quarantine_total"),
                "telemetry_dropped": self.counter("telemetry_dropped"),
            },
            "alarms": alarms,
            "updates": updates,
            "quarantine": quarantine,
        }


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT, rolled back on error."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, et: type[BaseException] | None, *_: object) -> None:
        self.db.execute("COMMIT" if et is None else "ROLLBACK")


def dumps_list(key: str, bodies: Sequence[str]) -> bytes:
    """``{"<key>": [body, ...]}`` from stored JSON bodies, without re-encoding them."""
    return ("{" + json.dumps(key) + ":[" + ",".join(bodies) + "]}").encode()
