"""Optional alert sinks (Alertmanager, signed webhook) behind bounded, non-blocking queues."""

from monitor.service.sinks.delivery import AlertDelivery, build_delivery
from monitor.service.sinks.settings import SinkSettings

__all__ = ["AlertDelivery", "SinkSettings", "build_delivery"]
