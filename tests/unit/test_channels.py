"""Channel files: mapping rules, channels.d loading, quiet hours, and `channels check`."""

from __future__ import annotations

import io
import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from monitor.service.channels import Registry, load_channels, make_mapper
from monitor.service.config import ConfigError
from monitor.service.events import Invalid
from monitor.service.settings import REPO_ROOT
from monitor.tools.channels_cli import check_sample, parse_metrics

EXAMPLES = REPO_ROOT / "examples" / "channels"
NOW = 1_800_000_000_000


def config_dir(tmp_path: Path, channels_yaml: str = "channels:\n  voice: {}\n") -> Path:
    (tmp_path / "channels.d").mkdir()
    (tmp_path / "channels.yaml").write_text(channels_yaml)
    return tmp_path


def load(directory: Path) -> Registry:
    return load_channels(directory / "channels.yaml")


def test_mapping_paths_constants_value_maps_and_casts() -> None:
    mapper = make_mapper(
        {
            "event_id": "id",
            "tenant": {"const": "acme"},
            "action": {"from": "op", "map": {"DL": "file.download"}},
            "records": {"from": "rows", "as": "int"},
            "customer_id": {"from": ["lead.id", "contact.id"]},
            "resource.classification": {"from": "sens", "default": "pii"},
            "resource.id": {"from": "obj", "as": "str"},
        }
    )
    out = mapper({"id": "1", "op": "DL", "rows": " 40 ", "contact": {"id": "c"}, "obj": 77})
    assert out == {
        "event_id": "1",
        "tenant": "acme",
        "action": "file.download",
        "records": 40,
        "customer_id": "c",
        "resource": {"classification": "pii", "id": "77"},
    }
    assert mapper({"op": "ZZ"})["action"] == "ZZ"  # unknown codes are kept, not invented


@pytest.mark.parametrize(
    ("rule", "value", "expected_ms"),
    [
        ({"from": "t", "format": "epoch_s"}, 1_800_000_000.25, 1_800_000_000_250),
        ({"from": "t", "format": "epoch_s"}, "1800000000", 1_800_000_000_000),
        ({"from": "t", "format": "epoch_us"}, 1_800_000_000_000_000, 1_800_000_000_000),
        (
            {"from": "t", "format": "%d/%m/%Y %H:%M:%S", "tz": "Europe/Lisbon"},
            "15/07/2026 10:00:00",
            int(datetime(2026, 7, 15, 9, 0, tzinfo=ZoneInfo("UTC")).timestamp() * 1000),
        ),
        (
            {"from": "t", "format": "%Y-%m-%dT%H:%M:%S%z"},
            "2026-07-15T10:00:00+0200",
            int(datetime(2026, 7, 15, 8, 0, tzinfo=ZoneInfo("UTC")).timestamp() * 1000),
        ),
    ],
)
def test_timestamp_formats(rule: dict, value: object, expected_ms: int) -> None:
    assert make_mapper({"ts": rule})({"t": value})["ts"] == expected_ms


def test_mapping_failures_name_field_and_source() -> None:
    mapper = make_mapper({"ts": {"from": "when", "format": "%d/%m/%Y"}})
    with pytest.raises(Invalid) as err:
        mapper({"when": "2026-01-01"})
    assert err.value.reason == "bad_value"
    assert err.value.detail == "ts: '2026-01-01' does not match format '%d/%m/%Y' (from when)"


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ("{actor.idd: user}", "mapping.actor.idd: unknown contract field 'actor.idd'"),
        ("{tenant: {const: a, from: b}}", "mapping.tenant: needs exactly one of 'from'"),
        ("{tenant: {}}", "mapping.tenant: needs exactly one of 'from'"),
        ("{action: {from: op, map: DL}}", "mapping.action.map: must be a non-empty mapping"),
        ("{records: {from: n, as: long}}", "mapping.records.as: must be int, float or str"),
        ("{ts: {from: t, format: julian}}", "mapping.ts.format: must be rfc3339, epoch_s"),
        ("{ts: {from: t, tz: Mars/Olympus}}", "mapping.ts.tz: unknown time zone 'Mars/Olympus'"),
        ("{tenant: {from: t, format: epoch_s}}", "mapping.tenant: 'format' and 'tz' apply to ts"),
        ("{tenant: {from: []}}", "mapping.tenant.from: must be a dotted path or a list"),
        ("{tenant: {from: t, when: x}}", "mapping.tenant.when: unknown key"),
    ],
)
def test_mapping_errors_name_the_file_and_key(tmp_path: Path, mapping: str, message: str) -> None:
    directory = config_dir(tmp_path)
    (directory / "channels.d" / "crm.yaml").write_text(f"mapping: {mapping}\n")
    with pytest.raises(ConfigError) as err:
        load(directory)
    assert str(err.value).startswith(f"channels.d/crm.yaml: {message}")


def test_channels_d_files_join_the_registry(tmp_path: Path) -> None:
    directory = config_dir(tmp_path, "defaults: {partitions: 4}\nchannels:\n  voice: {}\n")
    shutil.copy(EXAMPLES / "crm-audit.yaml", directory / "channels.d")
    (directory / "channels.d" / "wa.yaml").write_text("topic: custom.whatsapp\n")
    registry = load(directory)
    assert registry.names() == ["voice", "crm-audit", "wa"]
    crm, wa = registry.by_name()["crm-audit"], registry.by_name()["wa"]
    assert (crm.topic, crm.partitions, crm.silence_minutes) == ("interactions.crm-audit", 3, 30)
    assert (wa.topic, wa.partitions, wa.silence_minutes) == ("custom.whatsapp", 4, None)
    assert crm.source == "channels.d/crm-audit.yaml"


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"voice.yaml": "{}"}, "channels.d/voice.yaml: channel 'voice' is already defined in"),
        (
            {"v2.yaml": "topic: interactions.voice\n"},
            "channels.d/v2.yaml: topic 'interactions.voice' is already used by channel 'voice'",
        ),
        ({"bad name.yaml": "{}"}, "channels.d/bad name.yaml: file name: name must be"),
        ({"x.yaml": "partitions: 0\n"}, "channels.d/x.yaml: partitions: must be a positive"),
        ({"x.yaml": "topics: a\n"}, "channels.d/x.yaml: topics: unknown key"),
        ({"x.yaml": "mapping: [a]\n"}, "channels.d/x.yaml: mapping: must map contract fields"),
    ],
)
def test_registry_errors(tmp_path: Path, files: dict[str, str], message: str) -> None:
    directory = config_dir(tmp_path)
    for name, text in files.items():
        (directory / "channels.d" / name).write_text(text)
    with pytest.raises(ConfigError) as err:
        load(directory)
    assert str(err.value).startswith(message)


def lisbon_ms(day: int, hour: int, minute: int = 0) -> int:
    """Epoch ms of 2026-11-<day> hour:minute in Lisbon (2026-11-23 is a Monday)."""
    moment = datetime(2026, 11, day, hour, minute, tzinfo=ZoneInfo("Europe/Lisbon"))
    return int(moment.timestamp() * 1000)


def test_quiet_hours_cross_midnight_and_cover_weekends(tmp_path: Path) -> None:
    directory = config_dir(tmp_path)
    shutil.copy(EXAMPLES / "crm-audit.yaml", directory / "channels.d")
    crm = load(directory).by_name()["crm-audit"]
    assert not crm.is_quiet(lisbon_ms(23, 12))  # Monday noon
    assert crm.is_quiet(lisbon_ms(23, 20, 0))  # Monday 20:00
    assert crm.is_quiet(lisbon_ms(24, 6, 59))  # Tuesday before 07:00 (Monday's window)
    assert not crm.is_quiet(lisbon_ms(24, 7, 0))
    assert crm.is_quiet(lisbon_ms(28, 15))  # Saturday
    assert crm.is_quiet(lisbon_ms(29, 23))  # Sunday night
    assert crm.is_quiet(lisbon_ms(30, 6))  # Monday 06:00: Sunday's 20:00 → 07:00 window
    assert not crm.is_quiet(lisbon_ms(30, 7))
    voice = load(tmp_path).by_name()["voice"]
    assert voice.quiet_hours == () and not voice.is_quiet(lisbon_ms(28, 3))


@pytest.mark.parametrize(
    ("window", "message"),
    [
        ('{days: [sat], from: "22:00"}', "quiet_hours[0].to: required"),
        ('{days: [someday], from: "22:00", to: "06:00"}', "quiet_hours[0].days: must be"),
        ('{from: "25:00", to: "06:00"}', "quiet_hours[0].from: not a time of day"),
        ('{from: "9", to: "06:00"}', 'quiet_hours[0].from: must be "HH:MM"'),
        ('{from: "06:00", to: "06:00"}', "quiet_hours[0]: from and to are equal"),
        ('{from: "22:00", to: "06:00", tz: Nowhere}', "quiet_hours[0].tz: unknown time zone"),
    ],
)
def test_quiet_hours_are_validated(tmp_path: Path, window: str, message: str) -> None:
    directory = config_dir(tmp_path)
    (directory / "channels.d" / "x.yaml").write_text(f"quiet_hours: [{window}]\n")
    with pytest.raises(ConfigError) as err:
        load(directory)
    assert str(err.value).startswith(f"channels.d/x.yaml: {message}")


@pytest.mark.parametrize("name", ["crm-audit", "chat-webhook"])
def test_example_channels_map_their_samples(tmp_path: Path, name: str) -> None:
    directory = config_dir(tmp_path)
    shutil.copy(EXAMPLES / f"{name}.yaml", directory / "channels.d")
    channel = load(directory).by_name()[name]
    out = io.StringIO()
    assert check_sample(channel, (EXAMPLES / f"{name}.sample.jsonl").read_bytes(), out, NOW)
    assert out.getvalue().endswith("3 passed, 0 would be dead-lettered\n")


def test_check_prints_the_dead_letter_reason_of_each_line(tmp_path: Path) -> None:
    directory = config_dir(tmp_path)
    shutil.copy(EXAMPLES / "crm-audit.yaml", directory / "channels.d")
    channel = load(directory).by_name()["crm-audit"]
    out = io.StringIO()
    assert not check_sample(channel, (EXAMPLES / "crm-audit.bad.jsonl").read_bytes(), out, NOW)
    lines = out.getvalue().splitlines()
    assert lines == [
        "line 1: dead-letter bad_value: ts: '2026-11-27 14:03' does not match format"
        " '%d/%m/%Y %H:%M:%S' (from when)",
        "line 2: dead-letter missing_field: resource.id: required for record.view",
        "line 3: dead-letter wrong_type: records: 'lots' is not an integer (from rows)",
        "line 4: dead-letter bad_value: actor.type: 'XX' is not one of"
        " ['admin', 'agent', 'service', 'supervisor']",
        "line 5: dead-letter not_json: not valid JSON: invalid literal, expected 'null'",
        "0 passed, 5 would be dead-lettered",
    ]


def test_metrics_parsing_sums_actions_per_channel() -> None:
    text = (
        'blindar_events_total{action="record.view",channel="crm-audit"} 5.0\n'
        'blindar_events_total{action="print",channel="crm-audit"} 2.0\n'
        'blindar_channel_last_event_timestamp_seconds{channel="crm-audit"} 1.8e+09\n'
        "# HELP blindar_events_total Valid events\n"
    )
    assert parse_metrics(text) == {("events", "crm-audit"): 7.0, ("last", "crm-audit"): 1.8e9}


def test_docs_show_the_real_check_output(tmp_path: Path) -> None:
    """docs/channels.md quotes `channels check` on the bad CRM sample; keep it true."""
    directory = config_dir(tmp_path)
    shutil.copy(EXAMPLES / "crm-audit.yaml", directory / "channels.d")
    out = io.StringIO()
    check_sample(
        load(directory).by_name()["crm-audit"],
        (EXAMPLES / "crm-audit.bad.jsonl").read_bytes(),
        out,
        NOW,
    )
    docs = (REPO_ROOT / "docs" / "channels.md").read_text()
    for line in out.getvalue().splitlines():
        assert line in docs, line
