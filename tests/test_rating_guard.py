"""A phone number, an ID or an amount is not a satisfaction rating (bot/components/rating_guard.py)."""
import pytest

from bot.components.rating_guard import number_taken_for_rating


@pytest.mark.parametrize("text", ["qzx vvrp 13812345678 blorft", "my id is 44030419900307123X", "I got 1200 less"])
def test_a_long_number_read_as_a_rating_is_not_understood(text):
    assert number_taken_for_rating(text, {"name": "csat_rate", "confidence": 0.56})


@pytest.mark.parametrize("text, intent", [
    ("我给5分", "csat_rate"), ("I'd rate it 4", "csat_rate"), ("五星好评", "csat_rate"),
    ('/csat_rate{"csat_score": 5}', "csat_rate"), ("call me on 13812345678", "request_human"),
])
def test_ratings_and_other_intents_are_left_alone(text, intent):
    assert not number_taken_for_rating(text, {"name": intent, "confidence": 0.9})
