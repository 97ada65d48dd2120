"""SIGKILL the ingest process mid-run, again and again: nothing committed is lost, nothing is
duplicated, and a final run completes the work."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from broadsheet.config import Settings
from broadsheet.demo.server import SamplePublishers
from broadsheet.models import Stage
from broadsheet.pipeline.fetch import Fetcher
from broadsheet.pipeline.urls import article_id, canonicalize_url
from broadsheet.services import subscriptions
from broadsheet.services.ingest import utcnow
from broadsheet.storage import Database
from broadsheet.storage.schema import articles

LEASE_SECONDS = 3


def _snapshot(db: Database) -> dict[str, str]:
    with db.read() as conn:
        return {r.id: r.stage for r in conn.execute(sa.select(articles.c.id, articles.c.stage))}


def _ingest_process(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "broadsheet", "ingest"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
def test_sigkill_mid_ingest_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "BROADSHEET_DATA_DIR": str(tmp_path),
        "BROADSHEET_ALLOW_HOSTS": "127.0.0.1",
        "BROADSHEET_LEASE_SECONDS": str(LEASE_SECONDS),
        "BROADSHEET_FETCH_WORKERS": "2",
        "BROADSHEET_PER_HOST_DELAY": "0",
        "BROADSHEET_LOG_LEVEL": "ERROR",
    }
    settings = Settings.load(env=env)
    # slow pages, so that each kill lands while articles are in flight
    with SamplePublishers(page_delay=0.15) as publishers:
        db = Database(settings.database_url)
        db.migrate()
        with Fetcher.from_settings(settings) as fetcher:
            for url in publishers.feed_urls():
                subscriptions.add(db, fetcher, settings, url, now=utcnow())
        expected = {article_id(canonicalize_url(a.url)) for a in publishers.catalog()}

        committed: dict[str, str] = {}
        kills = 0
        for _ in range(3):
            proc = _ingest_process(env)
            deadline = time.monotonic() + 60
            target = len([s for s in committed.values() if s != Stage.DISCOVERED]) + 5
            while time.monotonic() < deadline and proc.poll() is None:
                now = _snapshot(db)
                if sum(s != Stage.DISCOVERED for s in now.values()) >= target:
                    break
                time.sleep(0.05)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait(timeout=10)
            after = _snapshot(db)
            # every row committed before this kill is still there, and never went backwards
            assert set(committed) <= set(after)
            for aid, stage in committed.items():
                if stage != Stage.DISCOVERED:
                    assert after[aid] != Stage.DISCOVERED, aid
            committed = after
            time.sleep(LEASE_SECONDS + 0.5)  # the killed process's leases expire

        assert kills >= 2, "the ingest finished before it could be killed: slow the pages"
        final = _ingest_process(env)
        _, stderr = final.communicate(timeout=180)
        assert final.returncode == 0, stderr.decode()
        done = _snapshot(db)
        db.dispose()
    # exactly the published articles, each once, each through to the last stage
    assert set(done) == expected
    assert set(done.values()) == {Stage.CLUSTERED.value}
