"""When to restart a process that died, and when to give up: pure, so it is tested without processes.

The launcher (`tooling/launch.py`) asks `RestartPolicy.after_exit(name, now)` each time a child (or
the embedded Redis) is found dead: the answer is the delay before the restart (1, 2, 4 … up to
30 s: a crash loop must not eat the machine), or None when the process died `give_up_after` times
within `window` seconds. Then the launcher says so plainly and keeps serving with the rest.
A process that stayed up for a whole window starts again from the shortest delay.

`HealthWatch` says when a child that is alive but unhealthy (core/health.py) has been so for long
enough to be restarted: the launcher then kills it, and `RestartPolicy` takes over as for a crash.
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


@dataclass
class HealthWatch:
    """When to restart a child that runs but is not healthy (its /health fails: no answer, or 503).

    `observe(name, healthy, now)` is told each check; it answers True once the child has failed
    every check for `unhealthy_for` seconds, or, after a (re)start, has not yet been healthy
    within `start_grace` (Rasa loads its model first). The launcher does not call it while it
    cannot reach Redis itself: then every child fails, and restarting them fixes nothing.
    """

    unhealthy_for: float = 30.0
    start_grace: float = 180.0
    failing_since: Dict[str, float] = field(default_factory=dict)
    starting_since: Dict[str, float] = field(default_factory=dict)

    def started(self, name: str, now: float) -> None:
        """`name` was (re)started at `now`: it has `start_grace` to become healthy."""
        self.failing_since.pop(name, None)
        self.starting_since[name] = now

    def forget(self, name: str) -> None:
        """Nothing known: the failures so far do not count (Redis was away)."""
        self.failing_since.pop(name, None)

    def observe(self, name: str, healthy: bool, now: float) -> bool:
        """True: restart `name` now (the watch then starts afresh for it)."""
        if healthy:
            self.failing_since.pop(name, None)
            self.starting_since.pop(name, None)
            return False
        if name in self.starting_since:
            restart = now - self.starting_since[name] >= self.start_grace
        else:
            restart = now - self.failing_since.setdefault(name, now) >= self.unhealthy_for
        if restart:
            self.failing_since.pop(name, None)
            self.starting_since.pop(name, None)
        return restart
