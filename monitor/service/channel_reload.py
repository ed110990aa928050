"""Reload the channel registry when its files change, keeping the old one on error."""

from __future__ import annotations

import logging
from pathlib import Path

from monitor.service import metrics
from monitor.service.channels import Registry, channel_files, load_channels
from monitor.service.config import ConfigError

log = logging.getLogger("blindar.worker")

Stamp = tuple[tuple[str, int, int], ...]


class ChannelWatcher:
    """Notices changes of channels.yaml and channels.d/*.yaml by their mtimes and sizes."""

    def __init__(self, config_dir: Path, registry: Registry) -> None:
        self.config_dir = config_dir
        self.registry = registry
        self.stamp = self._stamp()

    def _stamp(self) -> Stamp:
        entries = []
        for path in channel_files(self.config_dir):
            try:
                info = path.stat()
            except OSError:
                continue
            entries.append((path.name, info.st_mtime_ns, info.st_size))
        return tuple(entries)

    def poll(self) -> Registry | None:
        """The new registry if the files changed and are valid; None otherwise."""
        stamp = self._stamp()
        if stamp == self.stamp:
            return None
        self.stamp = stamp
        try:
            registry = load_channels(self.config_dir / "channels.yaml")
        except ConfigError as exc:
            metrics.CHANNEL_RELOADS.labels(result="error").inc()
            log.error("channel config not reloaded, keeping the previous one: %s", exc)
            return None
        metrics.CHANNEL_RELOADS.labels(result="ok").inc()
        old, self.registry = self.registry, registry
        added = sorted(set(registry.names()) - set(old.names()))
        removed = sorted(set(old.names()) - set(registry.names()))
        log.info("channels reloaded: added %s removed %s", added or "-", removed or "-")
        return registry
