"""What every Renben process shares: settings, the registry of Redis keys and streams, Redis
clients, the stream-consumer helper, health reports, the crisis contacts and the privacy library.
It imports no other Renben package and nothing from Rasa, so the Rasa server (bot/), the action
server (actions/), the agent desk (handoff/) and the tools (tooling/) can all use it."""
