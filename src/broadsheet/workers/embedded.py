"""The embedded deployment: the runner in a background thread and the web server in front, one
process, SQLite by default. `broadsheet run` and `broadsheet demo` both end here."""

from __future__ import annotations

import threading
from collections.abc import Callable

import uvicorn

from broadsheet.models import Progress
from broadsheet.services.runtime import Runtime
from broadsheet.web.app import create_app
from broadsheet.workers.runner import Runner


def serve(
    runtime: Runtime,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    on_started: Callable[[str], None] | None = None,
) -> None:
    """Run until interrupted (Ctrl-C): ingest in the background, serve pages in the foreground."""
    settings = runtime.settings
    stop = threading.Event()
    ingestor = runtime.ingestor()
    runner = Runner(ingestor, workers=settings.fetch_workers, on_progress=on_progress)
    # the model loads while the first feeds and pages are fetched, not after
    threading.Thread(target=ingestor.warm_up, name="broadsheet-warm-up", daemon=True).start()
    worker = threading.Thread(
        target=runner.run_forever, args=(stop,), name="broadsheet-runner", daemon=True
    )
    app = create_app(settings, runtime.db)
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    if on_started is not None:
        announce = on_started
        url = f"http://{settings.host}:{settings.port}/"

        def wait_for_server() -> None:
            while not server.started and not stop.wait(0.05):
                pass
            if server.started:
                announce(url)

        threading.Thread(target=wait_for_server, daemon=True).start()

    worker.start()
    try:
        server.run()
    finally:
        stop.set()
        worker.join(timeout=30)
        runner.close()
