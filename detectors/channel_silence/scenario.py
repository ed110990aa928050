"""The simulator's silence for channel_silence: a busy channel goes quiet (its producer
breaks), labelled with the channel as the actor, so that a replay can score the page."""

from __future__ import annotations

from random import Random

from simulator.leaks import Population, silence

# The channels every team of their kind works on most (simulator.model.TEAM_KINDS).
MAIN_CHANNELS = {"voice": "voice", "chat": "chat", "email": "email", "backoffice": "backoffice"}


@silence("channel_silence")
def channel_silence(population: Population, rng: Random, start_ms: int) -> tuple[str, float]:
    """The main channel of a kind of team at work at start_ms sends nothing for 30-90
    minutes (a connector down), while the other channels carry on."""
    working = {a.team.kind for a in population.agents if population.on_shift(a, start_ms)}
    kinds = sorted(working or {team.kind for team in population.teams})
    return MAIN_CHANNELS[rng.choice(kinds)], rng.uniform(30, 90)
