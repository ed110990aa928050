"""The worker's topic subscription, changed while it runs (new channels, removed ones).

faust-streaming's `app.topic(pattern=...)` never reaches the Kafka consumer (faust-streaming
issue 62, "XXX pattern does not work" in its aiokafka driver), so live onboarding is done
here instead: the agent's topic keeps its list of names in one list object that faust's
clones share; changing that list and flagging the conductor makes faust re-subscribe
through its own path (new subscription → consumer group rebalance → partitions of the
new topic assigned). faust's internals are touched only in this module.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import faust

log = logging.getLogger("blindar.worker")

# faust waits this long after a subscription change before re-subscribing (its default,
# 45 s, exists to merge many agents restarting at once; blindar has one agent).
RESUBSCRIBE_DELAY_S = 0.5


class TopicSubscription:
    """The topic names the agent consumes, as one list object shared with faust."""

    def __init__(self, app: faust.App, topics: Iterable[str]) -> None:
        self.app = app
        self.topics: list[str] = list(dict.fromkeys(topics))

    def source(self, **options: Any) -> faust.TopicT:
        topic = self.app.topic(*self.topics, **options)
        topic.topics = self.topics  # the clones faust makes share this very list
        return topic

    def subscribed(self) -> set[str]:
        """Topics the consumer is subscribed to right now (per faust's conductor)."""
        return set(self.app.topics._topic_name_index)

    def update(self, wanted: Iterable[str]) -> bool:
        """Make the agent consume exactly `wanted`; True when a re-subscription was asked.

        Also asks again when faust's subscription differs from the list (faust drops a
        change flagged while the group is rebalancing).
        """
        wanted = list(dict.fromkeys(wanted))
        conductor = self.app.topics
        if conductor._subscription_changed is None:  # initial subscription not done yet
            self.topics[:] = wanted
            return False
        if set(wanted) == set(self.topics) == self.subscribed():
            return False
        added = sorted(set(wanted) - set(self.topics))
        removed = sorted(set(self.topics) - set(wanted))
        self.topics[:] = wanted
        conductor._resubscribe_sleep_lock_seconds = RESUBSCRIBE_DELAY_S
        conductor._flag_changes()
        if added or removed:
            log.info("re-subscribing: added %s removed %s", added or "-", removed or "-")
        return True
