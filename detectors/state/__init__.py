"""Detector state: each actor's state (a slot per detector, built from the families in this
package), and shared state (detectors/state/shared) that no single actor owns."""

from detectors.state.actor import ActorState, PerTenant
from detectors.state.memory_state import MemoryState

__all__ = ["ActorState", "MemoryState", "PerTenant"]
