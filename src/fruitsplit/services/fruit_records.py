"""The fruits service's use cases: list, page and read records, and write a token holder's fruit."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from fruitsplit.core.claims import TokenSubject
from fruitsplit.core.errors import CorruptRecord, InvalidToken, RecordNotFound
from fruitsplit.core.fruits import VersionedFruit, check_choice
from fruitsplit.core.paging import ScanPosition
from fruitsplit.core.record import FruitRecord, decode_record
from fruitsplit.metrics import ServiceMetrics
from fruitsplit.services.ports import OwnedRecordStore, ScannedRecord, TokenVerifier

log = logging.getLogger(__name__)

# Keys per SCAN step and per MGET when listing everything: few round trips (every
# record has a version key beside it, so a step matches about half of them), each
# reply well under a megabyte.
LIST_BATCH_SIZE = 2000
# Bound on the decoded values kept (about 300 bytes each); see FruitRecords._decode.
MAX_DECODED_VALUES = 50_000

# What a raw value decodes to: the record, or the (kind, detail) of why it cannot.
Decoded = FruitRecord | tuple[str, str]


@dataclass(frozen=True, slots=True)
class RecordPage:
    records: list[FruitRecord]
    next_position: ScanPosition | None


class FruitRecords:
    def __init__(
        self,
        store: OwnedRecordStore,
        verifier: TokenVerifier,
        metrics: ServiceMetrics,
        *,
        list_batch_size: int = LIST_BATCH_SIZE,
    ) -> None:
        self._store = store
        self._verifier = verifier
        self._metrics = metrics
        self._list_batch_size = list_batch_size
        self._decoded: dict[str, Decoded] = {}
        self._reads = CoalescedReads(store)

    async def authenticate(self, token: str | None) -> TokenSubject:
        """Return who `token` speaks for; raise InvalidToken (counted by kind) otherwise."""
        try:
            if not token:
                raise InvalidToken("missing", "an X-Auth-Token header is required")
            return await self._verifier.verify(token)
        except InvalidToken as error:
            self._metrics.token_rejections.labels(error.kind).inc()
            raise

    async def choose_fruit(self, subject: TokenSubject, raw_fruit: str) -> VersionedFruit:
        """Validate and store `subject`'s choice as the record's newest version.

        Raises InvalidFruit or SpecialFruitForbidden before anything is written.
        """
        fruit = check_choice(raw_fruit, is_super=subject.is_super)
        version = await self._store.put_next_version(subject.user_id, subject.username, fruit)
        self._metrics.fruit_writes.inc()
        return VersionedFruit(subject.user_id, subject.username, fruit, version)

    async def fetch_record(self, user_id: int) -> FruitRecord:
        """Raises RecordNotFound, or CorruptRecord (logged and counted) for an unreadable one."""
        value = await self._reads.fetch_one(user_id)
        if value is None:
            raise RecordNotFound(user_id)
        decoded = self._decode(value)
        if isinstance(decoded, FruitRecord):
            return decoded
        kind, detail = decoded
        self._report_corrupt(f"user:{user_id}", kind, detail)
        raise CorruptRecord(kind, f"the record of user {user_id} is corrupt: {detail}")

    async def list_records(self) -> list[FruitRecord]:
        """Every readable record, in SCAN order, each once; corrupt ones are logged and skipped.

        A record written or deleted during the listing may or may not be in it.
        """
        records: list[FruitRecord] = []
        seen: set[str] = set()
        decoded = self._decoded
        async for batch in self._store.scan_records(self._list_batch_size):
            for scanned in batch:
                user_id, key, value = scanned
                # SCAN may return a key twice (while Redis resizes its table).
                if key in seen:
                    continue
                seen.add(key)
                # The common case inline, for it runs once per record: a value decoded before.
                known = decoded.get(value) if user_id is not None and value is not None else None
                if type(known) is FruitRecord:
                    records.append(known)
                elif (record := self._readable(scanned)) is not None:
                    records.append(record)
        return records

    async def page_records(self, start: ScanPosition, limit: int) -> RecordPage:
        """Up to `limit` readable records from `start`; see RedisFruitStore.scan_page."""
        scanned, next_position = await self._store.scan_page(start, limit)
        records = [record for item in scanned if (record := self._readable(item)) is not None]
        return RecordPage(records, next_position)

    def _readable(self, scanned: ScannedRecord) -> FruitRecord | None:
        user_id, key, value = scanned
        if value is None:
            # Deleted between SCAN and MGET, or not a string: nothing to show.
            return None
        if user_id is None:
            self._report_corrupt(key, "bad_key", "the key is not user:<id>")
            return None
        decoded = self._decode(value)
        if isinstance(decoded, FruitRecord):
            return decoded
        self._report_corrupt(key, *decoded)
        return None

    def _decode(self, value: str) -> Decoded:
        # Decoding is a pure function of the raw value, so its result is kept by value:
        # every request still reads every value from Redis, and a changed record is a
        # new value, so nothing here can go stale. Emptied whole when full, which is
        # cheaper than tracking use and only costs a round of decoding.
        decoded = self._decoded.get(value)
        if decoded is None:
            try:
                decoded = decode_record(value)
            except CorruptRecord as error:
                decoded = (error.kind, error.detail)
            if len(self._decoded) >= MAX_DECODED_VALUES:
                self._decoded.clear()
            self._decoded[value] = decoded
        return decoded

    def _report_corrupt(self, key: str, kind: str, detail: str) -> None:
        log.error("corrupt record %s: %s", key, detail)
        self._metrics.corrupt_records.labels(kind).inc()


class CoalescedReads:
    """Single-record reads asked for at the same moment, sent to Redis as one MGET.

    The first read asked for while none is gathering starts a batch, which is
    sent at the event loop's next turn; reads asked for before then join it,
    and those asked for while it is on its way start the next one. So each
    read still sees Redis as of a moment after it was asked for (a client
    reads its own completed writes), and under load one round trip serves
    many requests instead of one each.
    """

    def __init__(self, store: OwnedRecordStore) -> None:
        self._store = store
        self._gathering: dict[int, list[asyncio.Future[str | None]]] = {}
        self._sending: set[asyncio.Task[None]] = set()

    async def fetch_one(self, user_id: int) -> str | None:
        """The raw value of `user_id`'s record, or None; raises what the store raises."""
        loop = asyncio.get_running_loop()
        if not self._gathering:
            task = loop.create_task(self._send())
            # The loop keeps only a weak reference to tasks.
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)
        future: asyncio.Future[str | None] = loop.create_future()
        self._gathering.setdefault(user_id, []).append(future)
        return await future

    async def _send(self) -> None:
        batch, self._gathering = self._gathering, {}
        user_ids = list(batch)
        try:
            values = await self._store.fetch_many(user_ids)
        except BaseException as error:
            for futures in batch.values():
                for future in futures:
                    if future.done():
                        continue
                    if isinstance(error, Exception):
                        future.set_exception(error)
                    else:
                        future.cancel()
            if not isinstance(error, Exception):
                raise
            return
        for user_id, value in zip(user_ids, values, strict=True):
            for future in batch[user_id]:
                # A request whose client went away has cancelled its future.
                if not future.done():
                    future.set_result(value)
