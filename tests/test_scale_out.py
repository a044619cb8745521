"""The production shape scaled out (bench/scale_out.py) with a tiny load, so that it keeps working:
PostgreSQL, one Redis, 2 action servers, 2 Rasa processes, 2 WeChat gateways and 2 desks behind
Debian's nginx, widget and WeChat claimants writing two messages at once and agents taking their
handoffs. Nothing may be lost, doubled, out of order or unanswered, and no two turns may hold a
conversation's lock at once (before issue 21's fix of bot/lock_store.py, two Rasa processes
overwrote each other's tickets and acknowledged messages were lost)."""
from __future__ import annotations

import os
import shutil
import subprocess
from typing import Optional

import pytest

from bench import scale_out
from bench.scale_load import Load
from bench.scale_shape import nginx_missing

pytestmark = [pytest.mark.stack, pytest.mark.timeout(600)]
POSTGRES = os.environ.get("TEST_POSTGRES_URL")


def nginx_installed() -> Optional[str]:
    """None once Debian's nginx is there (installed here as .ci/run installs it), else why not."""
    if nginx_missing() is None:
        return None
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return f"{nginx_missing()}, and apt-get cannot install it here"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "nginx"]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
        subprocess.run(install, env=env, capture_output=True)
    return nginx_missing()


@pytest.mark.skipif(not POSTGRES, reason="TEST_POSTGRES_URL is not set (.ci/run sets it)")
def test_two_rasa_processes_behind_nginx_lose_double_and_reorder_nothing(model_path, tmp_path):
    missing = nginx_installed()
    if missing:
        pytest.skip(missing)
    load = Load(claimants=4, messages=4, handoff_every=2)  # 2 widget, 2 WeChat; one of each hands off
    [phase] = scale_out.run(load, model=model_path, postgres=POSTGRES, directory=tmp_path, rasa_counts=(2,),
                            say=lambda _: None)
    assert phase.failures == 0, "\n".join(scale_out.problems([phase]))
    assert len(phase.results) == 16 and len(phase.latencies) == 14  # 2 written to an agent
    assert phase.tickets_returned == 2
    assert phase.tracker.messages == 16 and phase.locks.overlapping == []
    # a widget claimant's two tabs are on different Rasa processes (nginx's round robin)
    web = {r.conversation for r in phase.results if r.channel == "web"}
    assert len(web) == 2 and phase.locks.on_several_processes >= len(web)
    assert set(phase.locks.by_process) == {"rasa-1", "rasa-2"}
