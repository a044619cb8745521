"""The claimant web chat: a WebSocket channel for the widget in widget/ (docs/widget-protocol.md)."""
