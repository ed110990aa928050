"""blindar benchmarks (`make bench`): figures printed, never asserted."""
