"""A clinic receptionist: the agent a user of the package tests with the emulator fixture."""

from __future__ import annotations

from livekit.agents import Agent, RunContext, function_tool

OPENING_HOURS = "Segunda a sexta, das 8h às 18h."


class Receptionist(Agent):
    """Answers the clinic's phone in Portuguese and knows its opening hours."""

    def __init__(self) -> None:
        super().__init__(instructions="Você é a recepcionista da Clínica Boa Vista. Seja breve.")

    @function_tool
    async def opening_hours(self, context: RunContext[None]) -> str:
        """Tell when the clinic is open."""
        return OPENING_HOURS
