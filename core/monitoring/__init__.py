"""Metric definitions and the /metrics door, shared by the Rasa process, the WeChat gateway and the desk."""
