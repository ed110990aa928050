"""The Redis store of detector state: one call per batch and Redis node, retried while
Redis is away, on a single Redis or a Redis Cluster (detected by itself).

Every key carries its owner's hash tag (detectors/state/keys.py), so an owner's keys
share a slot. On a Redis Cluster a batch is split by the node that serves each key and
the parts are sent concurrently; Redis 7 lets one script touch several slots of its node
(`allow-cross-slot-keys`). A part that meets a slot on the move (MOVED, ASK, TRYAGAIN)
is routed again once the slot map is refreshed: every write in it is idempotent (a
compare-and-set on the owner's version, with the batch's token recognised on a retry),
so a part applied twice changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.exceptions import NoPermissionError, NoScriptError

from detectors.state.shared import FAMILIES
from detectors.state.shared.plan import EXTRA_KEYS
from detectors.state.shared.protocol import (
    ENVELOPE,
    STATUS,
    ConfirmRow,
    RepeatRow,
    WriteResult,
    lua_prelude,
)
from monitor.service import metrics
from monitor.service.health import Health
from monitor.service.security import RedisAuth
from monitor.service.state.outages import is_moving, with_retry
from monitor.service.state.requests import OwnerWrite, Pending, Repeat, WriteReply, WriteRequest

log = logging.getLogger(__name__)
FLAGS = "#!lua flags=allow-cross-slot-keys\n"


def _text(package: str, name: str) -> str:
    return resources.files(package).joinpath(name).read_text()


def with_prelude(script: str) -> str:
    """A script with the protocol's short keys as Lua constants, after its flags line."""
    flags, _, body = script.partition("\n") if script.startswith("#!") else ("", "", script)
    return (flags + "\n" if flags else "") + lua_prelude() + body


def write_script() -> str:
    """The write script: its main part with every shared family's Lua, in FAMILIES order."""
    families = "\n".join(_text("detectors.state.shared", f"{name}.lua") for name in FAMILIES)
    main = _text("monitor.service.state", "write.lua").replace("--@families", families)
    return with_prelude(FLAGS + main)


@dataclass(frozen=True)
class Script:
    text: str
    sha: str

    @classmethod
    def of(cls, text: str) -> Script:
        import hashlib

        return cls(text, hashlib.sha1(text.encode()).hexdigest())


WRITE = Script.of(write_script())
LOAD = Script.of(_text("monitor.service.state", "load.lua"))
CONFIRM = Script.of(with_prelude(_text("monitor.service.state", "confirm.lua")))


def connect(url: str, auth: RedisAuth | None = None) -> aioredis.Redis:
    """An asyncio Redis client for `url` (redis:// or rediss://), with sane timeouts."""
    options = (auth or RedisAuth()).client_options(url)
    return aioredis.Redis.from_url(
        url,
        socket_timeout=10,
        socket_connect_timeout=5,
        health_check_interval=30,
        max_connections=16,
        **options,
    )


def connect_cluster(url: str, auth: RedisAuth | None = None) -> RedisCluster:
    options = (auth or RedisAuth()).client_options(url)
    return RedisCluster.from_url(
        url, socket_timeout=10, socket_connect_timeout=5, max_connections=16, **options
    )


async def is_cluster(url: str, auth: RedisAuth | None = None) -> bool:
    """Whether the Redis at `url` is a node of a Redis Cluster (cluster_enabled:1). A user
    not allowed INFO is taken for a single node (say BLINDAR_REDIS_CLUSTER=yes otherwise)."""
    client = connect(url, auth)
    try:
        info = await client.info("cluster")
        return bool(info.get("cluster_enabled"))
    except NoPermissionError:
        log.warning("redis: INFO not allowed for this user; assuming a single node "
                    "(BLINDAR_REDIS_CLUSTER=yes for a Redis Cluster)")  # fmt: skip
        return False
    finally:
        await client.aclose()


@dataclass
class Part:
    """The items of a request routed to one node (indices into the request)."""

    node: ClusterNode | None
    owners: list[int] = field(default_factory=list)
    ops: list[int] = field(default_factory=list)
    queries: list[int] = field(default_factory=list)


class RedisStore:
    """Applies write requests in Redis; loads owners; confirms alerts Kafka acknowledged."""

    def __init__(
        self,
        client: aioredis.Redis | RedisCluster,
        health: Health,
        marker: str | None = None,
    ) -> None:
        self.client = client
        self.cluster = client if isinstance(client, RedisCluster) else None
        self.health = health
        self.marker = marker
        self.token = str(int(time.time() * 1000))
        self.markers: dict[str, str] = {}  # node name -> its marker key (Redis Cluster)

    @classmethod
    async def open(
        cls,
        url: str,
        health: Health,
        auth: RedisAuth | None = None,
        marker: str | None = None,
        cluster: str = "auto",
    ) -> RedisStore:
        """A store on `url`, a single Redis or any node of a Redis Cluster (`cluster`:
        auto asks the server, yes or no say it)."""
        if cluster == "auto":
            clustered = await with_retry(health, "connect", lambda: is_cluster(url, auth))
        else:
            clustered = cluster == "yes"
        client = connect_cluster(url, auth) if clustered else connect(url, auth)
        if clustered:
            await with_retry(health, "connect", client.initialize)
        log.info("redis %s", "cluster" if clustered else "single node")
        return cls(client, health, marker)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def start(self) -> None:
        """Write the state marker, one per node of a Redis Cluster (kept if another worker
        already did): each node can lose its data on its own."""
        if not self.marker:
            return
        nodes = self.cluster.get_primaries() if self.cluster is not None else [None]
        for node in nodes:
            key = self.marker_key(node)
            await with_retry(
                self.health, "marker", lambda key=key: self.client.set(key, self.token, nx=True)
            )

    def marker_key(self, node: ClusterNode | None) -> str:
        """The marker kept on `node`: a key whose slot that node serves."""
        assert self.marker is not None
        if node is None:
            return self.marker
        known = self.markers.get(node.name)
        if known is not None and self._serves(node, known):
            return known
        for n in range(100_000):
            key = f"{self.marker}:{{n{n}}}"
            if self._serves(node, key):
                self.markers[node.name] = key
                return key
        raise RuntimeError(f"no slot of {node.name} found for the state marker")

    def _serves(self, node: ClusterNode, key: str) -> bool:
        owner = self.node_of(key)
        return owner is not None and owner.name == node.name

    # ------------------------------------------------------------------ routing

    def node_of(self, key: str) -> ClusterNode | None:
        if self.cluster is None:
            return None
        slot = self.cluster.keyslot(key)
        return self.cluster.nodes_manager.get_node_from_slot(slot)

    def route(self, request: WriteRequest, part: Part) -> list[Part]:
        """Split `part` by the node serving each item's key (one part on a single Redis)."""
        if self.cluster is None:
            return [part]
        parts: dict[str, Part] = {}

        def slot_for(key: str) -> Part:
            node = self.node_of(key)
            assert node is not None
            found = parts.get(node.name)
            if found is None:
                found = parts[node.name] = Part(node)
            return found

        for i in part.owners:
            slot_for(request.owners[i].key).owners.append(i)
        for i in part.ops:
            slot_for(request.plan.ops[i][1]).ops.append(i)
        for i in part.queries:
            slot_for(request.plan.queries[i][1]).queries.append(i)
        return list(parts.values())

    async def refresh(self, exc: BaseException) -> None:
        """After a redirect, learn the cluster's slot map again."""
        if self.cluster is not None and (is_moving(exc) or isinstance(exc, OSError)):
            await self.cluster.nodes_manager.initialize()

    # ------------------------------------------------------------------ calls

    async def _execute(self, node: ClusterNode | None, *args: Any) -> Any:
        if node is None:
            return await self.client.execute_command(*args)
        return await node.execute_command(*args)

    async def _eval(self, node: ClusterNode | None, script: Script, keys: list, *args: Any) -> Any:
        try:
            return await self._execute(node, "EVALSHA", script.sha, len(keys), *keys, *args)
        except NoScriptError:
            await self._execute(node, "SCRIPT", "LOAD", script.text)
            return await self._execute(node, "EVALSHA", script.sha, len(keys), *keys, *args)

    async def load(self, keys: Sequence[str]) -> list[dict[bytes, bytes]]:
        """Every field of each owner hash (empty for an owner never written)."""
        if not keys:
            return []

        async def attempt() -> list[dict[bytes, bytes]]:
            groups: dict[str, tuple[ClusterNode | None, list[int]]] = {}
            for i, key in enumerate(keys):
                node = self.node_of(key)
                groups.setdefault(node.name if node else "", (node, []))[1].append(i)
            out: list[dict[bytes, bytes]] = [{} for _ in keys]
            replies = await asyncio.gather(
                *(
                    self._eval(node, LOAD, [keys[idx[0]]], *(keys[i] for i in idx))
                    for node, idx in groups.values()
                )
            )
            for (_, idx), reply in zip(groups.values(), replies, strict=True):
                for i, flat in zip(idx, reply, strict=True):
                    out[i] = dict(zip(flat[0::2], flat[1::2], strict=True))
            return out

        return await with_retry(self.health, "load", attempt, self.refresh)

    async def write(self, request: WriteRequest) -> WriteReply:
        """Apply the request; statuses, pending alerts and shared answers in request order."""
        token = secrets.token_hex(8)
        whole = Part(
            None,
            list(range(len(request.owners))),
            list(range(len(request.plan.ops))),
            list(range(len(request.plan.queries))),
        )
        statuses = [STATUS.conflict] * len(request.owners)
        reply = WriteReply(statuses, [], [None] * len(request.plan.queries))

        async def attempt() -> None:
            parts = self.route(request, whole)
            results = await asyncio.gather(*(self._write_part(request, p, token) for p in parts))
            for part, result in zip(parts, results, strict=True):
                for i, status in zip(part.owners, result.statuses, strict=True):
                    reply.statuses[i] = status
                reply.pending += [pending_of(row) for row in result.pending]
                reply.repeats += [repeat_of(request, part, row) for row in result.repeats]
                for i, answer in zip(part.queries, result.answers, strict=True):
                    reply.answers[i] = answer
                reply.state_lost = reply.state_lost or bool(result.lost)

        await with_retry(self.health, "state", attempt, self.refresh)
        if reply.state_lost:
            self.state_lost()
        return reply

    async def _write_part(self, request: WriteRequest, part: Part, token: str) -> WriteResult:
        owners = [request.owners[i] for i in part.owners]
        plan = request.plan
        ops = [plan.ops[i] for i in part.ops]
        queries = [plan.queries[i] for i in part.queries]
        keys, rows, blob = encode_owners(owners)
        keys += shared_keys(ops, queries)
        doc: dict[str, Any] = {
            ENVELOPE.token: token,
            ENVELOPE.now: request.now_ms,
            ENVELOPE.suppression: request.suppression_ms,
            ENVELOPE.alert_ttl: request.alert_ttl_ms,
            ENVELOPE.owners: rows,
            ENVELOPE.ops: ops,
            ENVELOPE.queries: queries,
        }
        if self.marker:
            marker = self.marker_key(part.node)
            doc[ENVELOPE.marker], doc[ENVELOPE.marker_token] = marker, self.token
            keys.append(marker)
        if self.cluster is not None:
            doc[ENVELOPE.keys] = keys  # looked at first: a slot on the move fails before any write
        raw = await self._eval(part.node, WRITE, keys[:1], orjson.dumps(doc), blob)
        result = WriteResult._make(raw)
        return result._replace(
            statuses=plain(result.statuses), answers=[plain(a) for a in result.answers]
        )

    async def confirm(self, pending: Sequence[Pending]) -> None:
        """Alerts Kafka acknowledged stop being pending (idempotent)."""
        if not pending:
            return

        async def attempt() -> None:
            groups: dict[str, tuple[ClusterNode | None, list[Pending]]] = {}
            for item in pending:
                node = self.node_of(item.key)
                groups.setdefault(node.name if node else "", (node, []))[1].append(item)
            await asyncio.gather(
                *(
                    self._eval(
                        node,
                        CONFIRM,
                        [items[0].key],
                        orjson.dumps([confirm_row(p) for p in items]),
                    )
                    for node, items in groups.values()
                )
            )

        await with_retry(self.health, "confirm", attempt, self.refresh)

    def state_lost(self) -> None:
        metrics.REDIS_STATE_LOST.inc()
        log.error(
            "redis state lost: marker %s was missing (Redis restarted empty or failed over to "
            "a replica without the data); detector windows and alert suppression restart "
            "from the events that follow",
            self.marker,
        )


def encode_owners(owners: Sequence[OwnerWrite]) -> tuple[list[str], list[list[Any]], bytes]:
    """The owners' keys, their rows and the blob of values for the write script."""
    keys: list[str] = []
    rows: list[list[Any]] = []
    parts: list[bytes] = []
    position = 1

    def put(data: bytes) -> int:
        nonlocal position
        at = position
        parts.append(data)
        position += len(data)
        return at

    for owner in owners:
        keys.append(owner.key)
        state = owner.state
        # rows as protocol.OwnerRow and FindingRow (lists, in their field order: the hot
        # path; tests/unit/test_state_protocol.py reads them back by name)
        findings = [
            [d.field, d.uid, d.window_end_ms, d.observed, d.severity, put(d.payload),
             len(d.payload), d.claim, d.episode, d.window_start_ms]
            for d in owner.decisions
        ]  # fmt: skip
        rows.append(
            [owner.key, owner.expected, put(state) if state else 0, len(state),
             1 if owner.snapshot else 0, owner.ttl_ms, findings]
        )  # fmt: skip
    return keys, rows, b"".join(parts)


def shared_keys(ops: list[list[Any]], queries: list[list[Any]]) -> list[str]:
    """Every key the shared items touch (declared to Redis, as a Redis Cluster requires)."""
    keys: dict[str, None] = {}
    for item in (*ops, *queries):
        keys[item[1]] = None
        extra = EXTRA_KEYS.get(item[0])
        if extra is not None:
            keys.update(dict.fromkeys(extra(item)))
    return list(keys)


def pending_of(raw: list[Any]) -> Pending:
    """A pending alert as write.lua reports it (its payload kept as bytes)."""
    row = Pending._make(raw)
    return Pending(
        key=plain(row.key),
        field=plain(row.field),
        kind=plain(row.kind),
        uid=plain(row.uid),
        count=int(row.count),
        first_seen_ms=int(row.first_seen_ms),
        payload=row.payload,
        decided_ms=int(row.decided_ms),
    )


def repeat_of(request: WriteRequest, part: Part, raw: list[Any]) -> Repeat:
    """A repeat as write.lua reports it (RepeatRow), named by its finding's field and
    tenant."""
    row = RepeatRow._make(raw)
    owner = request.owners[part.owners[row.owner - 1]]
    decision = owner.decisions[int(row.finding) - 1]
    return Repeat(
        key=owner.key,
        field=decision.field,
        tenant=decision.tenant,
        uid=plain(row.uid),
        count=int(row.count),
        first_seen_ms=int(row.first_seen_ms),
        last_seen_ms=int(row.last_seen_ms),
        severity=int(row.severity),
    )


def confirm_row(p: Pending) -> list[Any]:
    return [*ConfirmRow(key=p.key, field=p.field, uid=p.uid, kind=p.kind, decided_ms=p.decided_ms)]


def plain(value: Any) -> Any:
    """A Lua reply as Python values: bytes become str, nested arrays become lists."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


__all__ = ["RedisStore", "connect", "encode_owners"]
