"""What an operator watches: Prometheus metrics on `/metrics` of the Rasa processes, the WeChat
gateways and the agent desks (docs/operations.md, "Metrics").

- `definitions.py`: every metric (name, labels, help text), the bounded values its labels take,
  and which process exposes which;
- `door.py`: who may read `/metrics` (the bearer token `RENBEN_METRICS_TOKEN`) and the answer;
- `turns.py`: the Rasa process's turns, observed where Rasa handles a message;
- `handoff/monitoring.py`: the desk's figures read from Redis when Prometheus scrapes.
"""
