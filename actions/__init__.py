"""The action server's actions: `rasa run actions --actions actions` imports them all from here."""
from actions import csat, eligibility_forms, fallback, handoff, language, topic_answer  # noqa: F401
