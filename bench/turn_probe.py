"""Times the parts of each turn inside a real Rasa server or action server (for bench/turn_latency.py).

    python -m bench.turn_probe renben <bot.rasa_server arguments>   # Renben's Rasa server
    python -m bench.turn_probe rasa <rasa arguments>                # plain `rasa` (the starter bot)
    python -m bench.turn_probe actions <actions.server arguments>   # Renben's action server

It wraps the methods a turn goes through with wall-clock timers, then starts the server as usual.
`GET /bench/turns` answers the timings of every turn since the last call (and forgets them): one
object per turn, part -> [seconds, calls]. A part's time includes the parts called inside it
(`run_action` holds `action_server`, which holds `action_payload`). Each timer costs about a
microsecond; the figures of a turn are some milliseconds.
"""
from __future__ import annotations

import contextvars
import importlib
import functools
import sys
import time
from typing import Any, Callable, Dict, List, Optional

_turn: contextvars.ContextVar[Optional[Dict[str, List[float]]]] = contextvars.ContextVar("turn", default=None)
_done: List[Dict[str, List[float]]] = []


def _add(part: str, seconds: float) -> None:
    record = _turn.get()
    if record is not None:
        entry = record.setdefault(part, [0.0, 0])
        entry[0] += seconds
        entry[1] += 1


def _timed(owner: Any, method: str, part: str, *, turn: bool = False) -> None:
    """Replaces owner.method (sync or async) by a timed one; `turn` starts a new turn record."""
    original = getattr(owner, method)
    import inspect

    if inspect.iscoroutinefunction(original):
        @functools.wraps(original)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            token = _turn.set({}) if turn else None
            started = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                _add(part, time.perf_counter() - started)
                if token is not None:
                    _done.append(_turn.get())
                    _turn.reset(token)
    else:
        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                _add(part, time.perf_counter() - started)
    setattr(owner, method, wrapper)


def _timed_async_context(owner: Any, method: str, part: str) -> None:
    """Times entering an async context manager (acquiring a lock), not the body it guards."""
    original = getattr(owner, method)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        manager = original(*args, **kwargs)

        class Timed:
            async def __aenter__(self) -> Any:
                started = time.perf_counter()
                try:
                    return await manager.__aenter__()
                finally:
                    _add(part, time.perf_counter() - started)

            async def __aexit__(self, *exc: Any) -> Any:
                started = time.perf_counter()
                try:
                    return await manager.__aexit__(*exc)
                finally:
                    _add(part + "_release", time.perf_counter() - started)

        return Timed()

    setattr(owner, method, wrapper)


def install_rasa_timers() -> None:
    """Timers over the path of one message through Rasa's Agent and MessageProcessor."""
    from rasa.core import lock_store, tracker_store
    from rasa.core.actions.action import RemoteAction
    from rasa.core.agent import Agent
    from rasa.core.brokers.broker import EventBroker
    from rasa.core.processor import MessageProcessor
    from rasa.core.policies.policy import Policy

    _timed(Agent, "handle_message", "turn", turn=True)
    _timed(MessageProcessor, "get_tracker", "tracker_retrieve")
    _timed(MessageProcessor, "parse_message", "nlu")
    _timed(MessageProcessor, "run_action_extract_slots", "extract_slots")
    _timed(MessageProcessor, "predict_next_with_tracker_if_should", "predict")
    _timed(MessageProcessor, "_run_action", "run_action")
    _timed(MessageProcessor, "run_anonymization_pipeline", "anonymize")
    _timed(MessageProcessor, "save_tracker", "tracker_save")
    _timed(RemoteAction, "run", "action_server")
    _timed(RemoteAction, "_action_call_format", "action_payload")
    _timed(tracker_store.TrackerStore, "stream_events", "event_broker")
    for module in ("rasa.core.policies.rule_policy", "rasa.core.policies.memoization",
                   "rasa.core.policies.ted_policy", "rasa.core.policies.unexpected_intent_policy",
                   # Renben's own classes, when this is Renben: their methods are timed too
                   "bot.policies.signal_policy", "bot.lock_store", "bot.event_broker", "bot.tracker_store"):
        try:
            importlib.import_module(module)
        except ImportError:
            pass
    for store in _subclasses(lock_store.LockStore) | {lock_store.LockStore}:
        if "lock" in vars(store):
            _timed_async_context(store, "lock", "lock")
    for policy in _subclasses(Policy):
        if "predict_action_probabilities" in vars(policy):
            _timed(policy, "predict_action_probabilities", f"policy:{policy.__name__}")
    for broker in _subclasses(EventBroker):
        if "publish" in vars(broker):
            _timed(broker, "publish", "broker_publish")


def install_action_timers() -> None:
    """Timers over rasa_sdk's executor: each action the action server runs, by name."""
    from rasa_sdk.executor import ActionExecutor

    original = ActionExecutor.run

    @functools.wraps(original)
    async def run(self: Any, action_call: Dict[str, Any]) -> Any:
        token = _turn.set({})
        started = time.perf_counter()
        try:
            return await original(self, action_call)
        finally:
            _add("action:" + str(action_call.get("next_action")), time.perf_counter() - started)
            _done.append(_turn.get())
            _turn.reset(token)

    ActionExecutor.run = run


def _subclasses(cls: type) -> set:
    found = set()
    for child in cls.__subclasses__():
        found.add(child)
        found |= _subclasses(child)
    return found


def add_route(app: Any) -> None:
    import cProfile
    import io
    import pstats

    from sanic import response

    profiler: Dict[str, Any] = {}

    async def turns(request: Any) -> Any:
        taken = list(_done)
        _done.clear()
        return response.json(taken)

    async def profile(request: Any) -> Any:
        """The first call starts cProfile on the server's thread; the next stops it and answers
        the functions with the most cumulative time."""
        if "running" not in profiler:
            profiler["running"] = cProfile.Profile()
            profiler["running"].enable()
            return response.text("profiling\n")
        running = profiler.pop("running")
        running.disable()
        text = io.StringIO()
        stats = pstats.Stats(running, stream=text)
        stats.sort_stats(request.args.get("sort", "cumulative")).print_stats(int(request.args.get("top", "60")))
        return response.text(text.getvalue())

    app.add_route(turns, "/bench/turns", methods=["GET"], name="bench_turns")
    app.add_route(profile, "/bench/profile", methods=["POST"], name="bench_profile")


def _with_route(build: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(build)
    def create_app(*args: Any, **kwargs: Any) -> Any:
        app = build(*args, **kwargs)
        add_route(app)
        return app

    return create_app


def main() -> None:
    target, arguments = sys.argv[1], sys.argv[2:]
    if target == "actions":
        install_action_timers()
        import actions.server

        build = actions.server.build_app

        def build_app(token: str) -> Any:
            app = build(token)
            add_route(app)
            return app

        actions.server.build_app = build_app
        sys.exit(actions.server.main(arguments))
    install_rasa_timers()
    import rasa.server

    rasa.server.create_app = _with_route(rasa.server.create_app)
    if target == "renben":
        from bot import rasa_server

        sys.argv = ["bot.rasa_server", *arguments]
        rasa_server.main()
    else:
        from rasa.__main__ import main as rasa_main

        sys.argv = ["rasa", *arguments]
        rasa_main()


if __name__ == "__main__":
    main()
