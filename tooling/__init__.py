"""Developer and operator tooling: the launcher (`make run`), the container entry point, the
model store, validation, evaluation and the trainers' tools. Nothing here runs inside `rasa run`;
it may import every other package (core, bot, handoff, actions), and none of them imports it."""
