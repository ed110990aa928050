"""Simulated traffic's building blocks that detector folders use (no Kafka)."""
