"""A conversation against the production tracker store (PostgreSQL), when TEST_POSTGRES_URL is set."""
from __future__ import annotations

import os
import uuid

import pytest

from conftest import Client, start_stack

pytestmark = pytest.mark.stack
POSTGRES = os.environ.get("TEST_POSTGRES_URL")


@pytest.mark.skipif(not POSTGRES, reason="TEST_POSTGRES_URL is not set (.ci/run sets it)")
def test_a_conversation_is_kept_in_postgresql(model_path, redis_server, tmp_path):
    import psycopg2

    stack = start_stack(model_path, tmp_path, redis_url=redis_server.url, tracker_store_url=POSTGRES)
    try:
        client = Client(stack.rasa_url, stack.settings.token())
        sender = f"pg-{uuid.uuid4().hex[:8]}"
        client.say(sender, "低保怎么申请")
        client.say(sender, "thank you")
    finally:
        stack.stop()
    with psycopg2.connect(POSTGRES) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT type_name, intent_name FROM events WHERE sender_id = %s ORDER BY id", (sender,))
        rows = cursor.fetchall()
    user_intents = [intent for kind, intent in rows if kind == "user"]
    assert user_intents == ["ask_assistance", "thank"]
    assert ("bot", None) in rows
