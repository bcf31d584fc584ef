"""The simulated axis' state: registrations, directory, knobsticks, faults. In memory only.

Concurrency: every method is synchronous (no `await` inside), so on the one event loop that
serves the app each call runs to completion before another starts; handlers await only before
(reading the body) and after (a configured delay) calling the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from backend.axis_sim.answers import (
    ACK_STATUSES,
    EDXML_INVALID,
    ERR_AGENCY,
    ERR_EDXML,
    ERR_FROM,
    ERR_NOT_FOUND,
    ERR_PARAMS,
    ERR_RECIPIENT,
    AxisFail,
)
from backend.axis_sim.config import AxisSimConfig, DirectorySeed
from backend.axis_sim.directory import (
    VIETNAM,
    DirectoryEntry,
    generate_directory,
    level_of,
    qd20_code,
)
from backend.axis_sim.packets import read_packet
from backend.interchange.errors import MalformedPacketError

__all__ = ["AxisStore", "Faults", "Knobstick", "Send", "format_time", "parse_time"]


@dataclass(slots=True)
class Knobstick:
    """One delivery of one packet to one recipient."""

    doc_id: str
    sender_doc_id: str
    sender_system: str
    from_code: str
    to_code: str
    message_type: str
    data: bytes
    sha256: str
    title: str
    notation: str
    created: datetime
    updated: datetime
    status: str = "initial"
    description: str = ""
    received: datetime | None = None
    copy_of: str | None = None


@dataclass(slots=True)
class Send:
    """One accepted sendEdoc; `fate` is delivered, duplicated, vanished or delayed."""

    sender_doc_id: str
    system_id: str
    from_code: str
    message_type: str
    sha256: str
    size: int
    recipients: tuple[str, ...]
    created: datetime
    fate: str
    knobsticks: list[str] = field(default_factory=list)


@dataclass(slots=True)
class FailRule:
    count: int
    path: str | None
    status: int


@dataclass(slots=True)
class Faults:
    """What the hooks asked for; counters are consumed by the calls they hit."""

    down: bool = False
    fail: list[FailRule] = field(default_factory=list)
    slow_seconds: float = 0.0
    duplicate: int = 0
    vanish: int = 0
    delay: int = 0
    delay_seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "down": self.down,
            "fail": [{"count": r.count, "path": r.path, "status": r.status} for r in self.fail],
            "slow": self.slow_seconds,
            "duplicate": self.duplicate,
            "vanish": self.vanish,
            "commit_then_timeout": {"count": self.delay, "seconds": self.delay_seconds},
        }


_counter = itertools.count(secrets.randbelow(1 << 24))


def new_doc_id() -> str:
    """24 hex digits like a MongoDB ObjectId (seconds, random, counter), as the axis' are."""
    return (
        f"{int(time.time()) & 0xFFFFFFFF:08x}{secrets.token_hex(5)}{next(_counter) & 0xFFFFFF:06x}"
    )


def now() -> datetime:
    return datetime.now(VIETNAM)


class AxisStore:
    """All mutable state of one simulator app."""

    def __init__(self, config: AxisSimConfig, *, clock: Callable[[], datetime] = now) -> None:
        self.config = config
        self.clock = clock
        self._generated = generate_directory(config.directory_size, config.directory_seed)
        self.release = asyncio.Event()
        self.reset()

    def reset(self) -> None:
        """Back to the configured state: registrations, directory, no knobsticks, no faults."""
        self.registered: dict[str, str] = {
            code: system_id for system_id, codes in self.config.registered.items() for code in codes
        }
        self.directory: dict[str, DirectoryEntry] = {e.code: e for e in self._generated}
        self.version = max((e.version for e in self._generated), default=1)
        self.next_id = len(self._generated) + 1
        seeds = list(self.config.directory)
        named = {seed.code for seed in seeds} | set(self.directory)
        self._seed(seeds + [DirectorySeed(c, c) for c in self.registered if c not in named])
        self.synced: dict[str, int] = {}
        self.knobsticks: dict[str, Knobstick] = {}
        self.sends: dict[str, Send] = {}
        self.faults = Faults()
        self.requests: deque[dict[str, Any]] = deque(maxlen=200)
        self._agencies_json: bytes | None = None
        self.wake()

    def wake(self) -> None:
        """End every pending delay (reset, or a hook that lifts a slowdown)."""
        self.release.set()
        self.release = asyncio.Event()

    async def pause(self, seconds: float) -> None:
        """Sleep `seconds`, or less if `wake` is called meanwhile."""
        if seconds <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.release.wait(), timeout=seconds)

    # --- directory -----------------------------------------------------------------------

    def _seed(self, seeds: Iterable[DirectorySeed]) -> None:
        seeds = list(seeds)
        for seed in seeds:
            old = self.directory.get(seed.code)
            if old is None:
                entry = DirectoryEntry(id=self.next_id, pid=0, code=seed.code, name=seed.name)
                self.next_id += 1
            else:
                entry = replace(old, name=seed.name)
            self.directory[seed.code] = replace(
                entry,
                mail=seed.mail or entry.mail,
                center_code=self.registered.get(seed.code) or entry.center_code,
            )
        for seed in seeds:  # parents may come after their children in a config file
            parent = self.directory.get(seed.parent) if seed.parent else None
            if parent is not None:
                self.directory[seed.code] = replace(self.directory[seed.code], pid=parent.id)

    def _change(self, entry: DirectoryEntry) -> None:
        self.version += 1
        self.directory[entry.code] = replace(entry, version=self.version, modify_date=self.clock())
        self._agencies_json = None

    def agencies(self) -> list[dict[str, Any]]:
        return [
            {"id": e.id, "pid": e.pid, "code": e.code, "name": e.name, "mail": e.mail}
            for e in self.directory.values()
            if not e.deleted
        ]

    def agencies_qd20(self, level: str) -> list[dict[str, Any]]:
        return [
            {
                "id": e.id,
                "pid": e.pid,
                "code": qd20_code(e.code),
                "name": e.name,
                "mail": e.mail,
                "oldCode": e.code,
                "code102": e.code,
            }
            for e in self.directory.values()
            if not e.deleted and (not level or str(level_of(e.code)) == level)
        ]

    def synchronize(self, system_id: str) -> list[dict[str, Any]]:
        """Rows changed since this system's previous call; everything on its first call.

        The SDK asks with `{}`, so the axis must remember how far each system got [inferred;
        how the real axis decides what a delta is is unknown].
        """
        since = self.synced.get(system_id, 0)
        self.synced[system_id] = self.version
        return [
            {
                "id": e.id,
                "pid": e.pid,
                "code": e.code,
                "name": e.name,
                "mail": e.mail,
                "centerCode": e.center_code,
                "version": e.version,
                "deleted": e.deleted,
                "modifyDate": format_time(e.modify_date),
                "isAgency": e.is_agency,
                "code102": e.code,
                "oldCode": "",
            }
            for e in self.directory.values()
            if e.version > since
        ]

    def register(self, system_id: str, agency: dict[str, Any]) -> None:
        code, name = str(agency.get("code") or ""), str(agency.get("name") or "")
        if not code or not name:
            raise AxisFail(ERR_PARAMS, "Thieu ma hoac ten don vi (code, name)")
        owner = self.registered.get(code)
        if owner is not None and owner != system_id:
            raise AxisFail(ERR_AGENCY, f"Ma don vi {code} da duoc dang ky boi he thong khac")
        self.registered[code] = system_id
        parent = self.directory.get(str(agency.get("pcode") or ""))
        old = self.directory.get(code)
        if old is None:
            old = DirectoryEntry(id=self.next_id, pid=0, code=code, name=name)
            self.next_id += 1
        self._change(
            replace(
                old,
                pid=parent.id if parent is not None else 0,
                name=name,
                mail=str(agency.get("mail") or ""),
                center_code=system_id,
                deleted=False,
            )
        )

    def unregister(self, system_id: str, code: str) -> None:
        if self.registered.get(code) != system_id:
            raise AxisFail(ERR_AGENCY, f"Ma don vi {code} khong thuoc he thong {system_id}")
        del self.registered[code]
        entry = self.directory.get(code)
        if entry is not None:
            self._change(replace(entry, deleted=True))

    def edit_directory(self, upsert: list[DirectorySeed], delete: list[str]) -> int:
        """The `/_sim/directory` hook: changes that getSynchronizeUnit then reports."""
        for seed in upsert:
            old = self.directory.get(seed.code)
            if old is None:
                old = DirectoryEntry(id=self.next_id, pid=0, code=seed.code, name=seed.name)
                self.next_id += 1
            parent = self.directory.get(seed.parent) if seed.parent else None
            pid = parent.id if parent is not None else old.pid
            self._change(
                replace(old, pid=pid, name=seed.name, mail=seed.mail or old.mail, deleted=False)
            )
        for code in delete:
            if code in self.directory:
                self._change(replace(self.directory[code], deleted=True))
        return self.version

    def agencies_json(self, render: Callable[[list[dict[str, Any]]], bytes]) -> bytes:
        """getAgenciesList's answer, rendered once per directory version (it is big)."""
        if self._agencies_json is None:
            self._agencies_json = render(self.agencies())
        return self._agencies_json

    # --- knobsticks ----------------------------------------------------------------------

    def send(
        self,
        system_id: str,
        *,
        from_code: str,
        message_type: str,
        data: bytes,
        to: list[str] | None,
    ) -> tuple[str, float]:
        """Store and route one packet; returns the sender's DocId and how long to delay the
        answer (commit-then-timeout)."""
        if self.registered.get(from_code) != system_id:
            raise AxisFail(
                ERR_FROM, f"Don vi gui {from_code} khong dung voi ma da dang ky: {system_id}"
            )
        try:
            info = read_packet(data, max_bytes=self.config.max_packet_bytes)
        except MalformedPacketError as exc:
            raise AxisFail(ERR_EDXML, EDXML_INVALID) from exc
        if to is None:
            # A status packet names its addressee in ResponseFor; some peers send status packets
            # as edoc (README §7 pitfall 17), which then have no To [inferred].
            first, second = (
                (info.to, info.response_for)
                if message_type == "edoc"
                else (info.response_for, info.to)
            )
            recipients = list(first or second)
        else:
            recipients = list(dict.fromkeys(to))
        if not recipients:
            raise AxisFail(ERR_RECIPIENT, "Khong xac dinh duoc don vi nhan trong goi tin")
        for code in recipients:
            if code not in self.registered:
                raise AxisFail(
                    ERR_RECIPIENT, f"Don vi nhan {code} chua dang ky tren truc lien thong"
                )

        moment = self.clock()
        digest = hashlib.sha256(data).hexdigest()
        fate, copies, delay = "delivered", 1, 0.0
        if self.faults.vanish:
            self.faults.vanish -= 1
            fate, copies = "vanished", 0
        elif self.faults.duplicate:
            self.faults.duplicate -= 1
            fate, copies = "duplicated", 2
        if self.faults.delay:
            self.faults.delay -= 1
            delay = self.faults.delay_seconds
            fate = "delayed" if fate == "delivered" else fate
        send = Send(
            sender_doc_id=new_doc_id(),
            system_id=system_id,
            from_code=from_code,
            message_type=message_type,
            sha256=digest,
            size=len(data),
            recipients=tuple(recipients),
            created=moment,
            fate=fate,
        )
        self.sends[send.sender_doc_id] = send
        for code in recipients:
            first_copy: str | None = None
            for _ in range(copies):
                stick = Knobstick(
                    doc_id=new_doc_id(),
                    sender_doc_id=send.sender_doc_id,
                    sender_system=system_id,
                    from_code=from_code,
                    to_code=code,
                    message_type=message_type,
                    data=data,
                    sha256=digest,
                    title=info.title,
                    notation=info.notation,
                    created=moment,
                    updated=moment,
                    copy_of=first_copy,
                )
                first_copy = first_copy or stick.doc_id
                self.knobsticks[stick.doc_id] = stick
                send.knobsticks.append(stick.doc_id)
        return send.sender_doc_id, delay

    def pending(
        self, system_id: str, message_type: str, since: datetime | None, until: datetime | None
    ) -> list[Knobstick]:
        """Not yet acknowledged (initial or processing) for this system's agencies, oldest first."""
        return [
            k
            for k in self.knobsticks.values()
            if self.registered.get(k.to_code) == system_id
            and k.message_type == message_type
            and k.status in ("initial", "processing")
            and _within(k.created, since, until)
        ]

    def addressed_to(self, system_id: str, doc_id: str) -> Knobstick:
        stick = self.knobsticks.get(doc_id)
        if stick is None or self.registered.get(stick.to_code) != system_id:
            raise AxisFail(ERR_NOT_FOUND, f"Khong tim thay goi tin {doc_id}")
        return stick

    def acknowledge(self, system_id: str, doc_id: str, status: str, description: str) -> None:
        if status not in ACK_STATUSES:
            raise AxisFail(ERR_PARAMS, f"Trang thai {status} khong hop le (done, fail, processing)")
        stick = self.addressed_to(system_id, doc_id)
        stick.status = status
        stick.description = description
        stick.updated = self.clock()
        if status == "done":
            stick.received = stick.updated

    def sent(
        self, system_id: str, message_type: str, since: datetime | None, until: datetime | None
    ) -> list[Knobstick]:
        return [
            k
            for k in self.knobsticks.values()
            if k.sender_system == system_id
            and k.message_type == message_type
            and _within(k.created, since, until)
        ]


def _within(moment: datetime, since: datetime | None, until: datetime | None) -> bool:
    # The list parameters have whole seconds.
    moment = moment.replace(microsecond=0)
    return (since is None or moment >= since) and (until is None or moment <= until)


def format_time(moment: datetime) -> str:
    """`dd/MM/yyyy HH:mm:ss` in Vietnam time, as the list filters are written [unverified for
    the times the axis returns]."""
    return f"{moment.astimezone(VIETNAM):%d/%m/%Y %H:%M:%S}"


def parse_time(text: str) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.strptime(text.strip(), "%d/%m/%Y %H:%M:%S").replace(tzinfo=VIETNAM)
    except ValueError as exc:
        raise AxisFail(
            ERR_PARAMS, f"Thoi gian {text} khong dung dinh dang dd/MM/yyyy HH:mm:ss"
        ) from exc
