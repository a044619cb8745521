"""When to restart a process that died, and when to give up: pure, so it is tested without processes.

The launcher (`bot/launch.py`) asks `RestartPolicy.after_exit(name, now)` each time a child (or
the embedded Redis) is found dead: the answer is the delay before the restart (1, 2, 4 … up to
30 s: a crash loop must not eat the machine), or None when the process died `give_up_after` times
within `window` seconds. Then the launcher says so plainly and keeps serving with the rest.
A process that stayed up for a whole window starts again from the shortest delay.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional


@dataclass
class RestartPolicy:
    first_delay: float = 1.0
    longest_delay: float = 30.0
    give_up_after: int = 5
    window: float = 300.0
    exits: Dict[str, List[float]] = field(default_factory=dict)

    def after_exit(self, name: str, now: float) -> Optional[float]:
        """Seconds to wait before restarting `name`, or None: give up on it."""
        recent = [at for at in self.exits.get(name, []) if now - at < self.window] + [now]
        self.exits[name] = recent
        if len(recent) >= self.give_up_after:
            return None
        return min(self.longest_delay, self.first_delay * 2 ** (len(recent) - 1))
