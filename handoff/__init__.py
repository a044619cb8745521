"""The agent desk: the Redis queue of tickets, the agent WebSocket server and the console.

Run with `python -m handoff` (see docs/handoff-queue.md)."""
