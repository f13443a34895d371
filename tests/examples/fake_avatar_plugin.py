"""A stand-in avatar plugin: a real ``AvatarSession`` subclass that records its lifecycle.

It is what ``livekit.plugins.<provider>`` looks like to the registry: a module with an
``AvatarSession`` class taking keyword options, plus a nested config class.
"""

from __future__ import annotations

from dataclasses import dataclass

from livekit import rtc
from livekit.agents import AgentSession
from livekit.agents.voice.avatar import AvatarSession as BaseAvatarSession

events: list[str] = []


@dataclass
class FaceConfig:
    face_id: str
    api_key: str


class AvatarSession(BaseAvatarSession[None]):
    def __init__(self, *, face_config: FaceConfig, avatar_participant_name: str = "avatar") -> None:
        super().__init__()
        if face_config.face_id == "refused":
            raise RuntimeError("the provider refused this face")
        self.face_config = face_config
        self.name = avatar_participant_name
        events.append("construct")

    @property
    def avatar_identity(self) -> str:
        return "fake-avatar"

    @property
    def provider(self) -> str:
        return "fake"

    async def start(self, agent_session: AgentSession[None], room: rtc.Room) -> None:
        await super().start(agent_session, room)
        if self.face_config.face_id in ("offline", "offline-unclosable"):
            raise ConnectionError("provider API unreachable")
        events.append("start")

    async def aclose(self) -> None:
        events.append("aclose")
        await super().aclose()
        if self.face_config.face_id == "offline-unclosable":
            raise ConnectionError("provider API unreachable at close too")
