"""Canary leaks: signed, labelled leak patterns sent through the real path to prove, per
tenant, channel and detector, that a leak would be caught (docs/operations.md, Canaries)."""
