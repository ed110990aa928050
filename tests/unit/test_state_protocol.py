"""The Lua scripts read the state protocol as detectors/state/shared/protocol.py declares it:
each op and query unpacks its arguments into locals named as the declaration's fields, in
order; write.lua and confirm.lua unpack their rows and build their reply rows the same
way; no script reads an op, a query or a row by a numbered position."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from detectors.state.shared import FAMILIES, protocol
from detectors.state.shared.plan import Plan
from monitor.service.settings import REPO_ROOT
from monitor.service.state.requests import Decision, OwnerWrite
from monitor.service.state.store import CONFIRM, WRITE, encode_owners

SHARED = REPO_ROOT / "detectors" / "state" / "shared"
STATE = REPO_ROOT / "monitor" / "service" / "state"
FAMILY_LUA = {path.name: path.read_text() for path in sorted(SHARED.glob("*.lua"))}
WRITE_LUA = (STATE / "write.lua").read_text()
CONFIRM_LUA = (STATE / "confirm.lua").read_text()


def names(row: Any) -> str:
    return r",\s*".join(row._fields)


def unpacks(row: Any, var: str, start: int = 1) -> str:
    """`local <fields> = unpack(<var>[, start])`, whatever the line breaks."""
    first = "" if start == 1 else rf",\s*{start}"
    return rf"local\s+{names(row)}\s*=\s*unpack\({var}{first}\)"


def functions(source: str) -> dict[tuple[str, str], str]:
    """(OPS or QUERIES, name) -> the function's argument and body, up to the next one."""
    found = list(re.finditer(r"(OPS|QUERIES)\['(\w+)'\] = function\((\w+)\)", source))
    out = {}
    for n, match in enumerate(found):
        stop = found[n + 1].start() if n + 1 < len(found) else len(source)
        out[(match[1], match[2])] = match[3] + "\n" + source[match.end() : stop]
    return out


ALL = {key: body for source in FAMILY_LUA.values() for key, body in functions(source).items()}
DECLARED = [("OPS", name, args) for name, args in protocol.OPS.items()] + [
    ("QUERIES", name, args) for name, args in protocol.QUERIES.items()
]


def test_every_lua_op_and_query_is_declared_and_every_declared_one_is_in_lua() -> None:
    assert set(ALL) == {(table, name) for table, name, _ in DECLARED}
    assert set(FAMILY_LUA) == {f"{family}.lua" for family in FAMILIES}


@pytest.mark.parametrize("table,name,args", DECLARED, ids=lambda x: x if isinstance(x, str) else "")
def test_each_lua_function_unpacks_its_declared_fields(table: str, name: str, args: Any) -> None:
    var, _, body = ALL[(table, name)].partition("\n")
    assert args._fields[0] == "key", "the first field routes the item (Plan: item[1])"
    assert re.match(rf"\s*{unpacks(args, var, 2)}", body), f"{name}: {args._fields}"
    assert not re.search(rf"\b{var}\[\d", body), f"{name} reads {var} by position"


def test_the_write_script_unpacks_and_builds_its_rows_as_declared() -> None:
    assert re.search(unpacks(protocol.OwnerRow, "w"), WRITE_LUA)
    assert re.search(unpacks(protocol.FindingRow, "f"), WRITE_LUA)
    for reply in (protocol.Pending, protocol.RepeatRow, protocol.WriteResult):
        assert re.search(rf"\{{{names(reply)}\}}", WRITE_LUA), reply.__name__
    assert re.search(unpacks(protocol.ConfirmRow, "c"), CONFIRM_LUA)
    for source in (WRITE_LUA, CONFIRM_LUA):
        assert not re.search(r"\b(w|f|c|doc)\[\d", source)
        assert not re.search(r"\bdoc\.\w", source), "the envelope is read through ENVELOPE"


def test_the_short_keys_reach_the_scripts_and_are_unique() -> None:
    for script in (WRITE.text, CONFIRM.text):
        assert script.startswith("#!lua flags=")
        assert protocol.lua_prelude() in script
    for keys in (protocol.ENVELOPE, protocol.OWNER, protocol.ALERT, protocol.PAGE):
        assert len(set(keys)) == len(keys), type(keys).__name__
    assert len(set(protocol.STATUS)) == len(protocol.STATUS)


def test_expand_and_compact_are_inverse() -> None:
    stored = {"u": "x", "f": 1, "l": 2, "c": 3, "p": {"k": "new"}}
    named = protocol.expand(stored, protocol.ALERT)
    assert named == {"uid": "x", "first": 1, "last": 2, "count": 3, "page": {"k": "new"}}
    assert protocol.compact(named, protocol.ALERT) == stored


def test_a_plan_item_is_its_name_then_its_declared_fields() -> None:
    plan = Plan()
    plan.op(protocol.TeamDevicesUsed, "k", "d", 5, 3, 9)
    [row] = plan.ops
    assert row == ["team_devices", "k", "d", 5, 3, 9]
    assert protocol.read_op(row) == protocol.TeamDevicesUsed(
        key="k", device="d", ts_ms=5, cap=3, ttl_ms=9
    )
    with pytest.raises(TypeError):
        plan.op(protocol.TeamDevicesUsed, "k", "d", 5, 3)


def test_no_lua_source_is_left_unchecked() -> None:
    lua = sorted(p.name for p in Path(STATE).glob("*.lua"))
    assert lua == ["confirm.lua", "load.lua", "write.lua"]  # load.lua reads ARGV keys only


def test_the_store_encodes_owner_and_finding_rows_as_declared() -> None:
    decision = Decision("!f:acme", "u-1", 30, 2.5, 3, b"{}", "~claim", "ep", "acme", 10)
    owner = OwnerWrite("{a:x}", 4, state=b"state", snapshot=True, ttl_ms=99, decisions=[decision])
    _, [raw], blob = encode_owners([owner])
    row = protocol.OwnerRow._make(raw)
    assert (row.key, row.expected, row.snapshot, row.ttl_ms) == ("{a:x}", 4, 1, 99)
    assert blob[row.entry_offset - 1 :][: row.entry_length] == b"state"
    [f] = [protocol.FindingRow._make(f) for f in row.findings]
    assert (f.field, f.uid, f.window_end_ms, f.observed, f.severity) == (
        "!f:acme",
        "u-1",
        30,
        2.5,
        3,
    )
    assert (f.claim, f.episode, f.window_start_ms) == ("~claim", "ep", 10)
    assert blob[f.payload_offset - 1 :][: f.payload_length] == b"{}"
