"""The peers' progress counter: written in place, read back as the last written value."""

from __future__ import annotations

from pathlib import Path

from bench.progress import ProgressWriter, read_progress


def test_counter_is_written_every_n_events_and_on_flush(tmp_path: Path) -> None:
    path = tmp_path / "progress"
    assert read_progress(path) == 0  # not started yet
    writer = ProgressWriter(path, every=1000)
    assert read_progress(path) == 0
    writer.add(999)
    assert read_progress(path) == 0  # below `every`: not written yet
    writer.add(1)
    assert read_progress(path) == 1000
    writer.add(5)
    writer.flush()
    assert read_progress(path) == 1005
    assert path.stat().st_size == 8  # rewritten in place, never appended
