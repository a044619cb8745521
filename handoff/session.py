"""One authenticated console connection: the agent's account, their socket, their console's language."""
from __future__ import annotations

from typing import Optional

from websockets.exceptions import ConnectionClosed
from websockets.legacy.server import WebSocketServerProtocol

from handoff import agents


class Session:
    def __init__(self, account: agents.Account, socket: WebSocketServerProtocol, language: str = "en"):
        self.account, self.socket = account, socket
        self.language = language  # the console's: summaries are written in it

    @property
    def agent_id(self) -> str:
        return self.account.agent_id

    def may_see(self, language: str, agent: Optional[str]) -> bool:
        return self.account.is_supervisor or language in self.account.languages or agent == self.agent_id

    def holder(self) -> Optional[str]:
        """The holder a change must check: supervisors may act on any ticket; agents only on those they hold."""
        return None if self.account.is_supervisor else self.agent_id

    async def send(self, frame: str) -> None:
        try:
            await self.socket.send(frame)
        except ConnectionClosed:
            pass
