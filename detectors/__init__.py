"""blindar detectors: pure detection logic, no Kafka, Faust or Redis imports."""
