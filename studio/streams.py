"""A generation in a worker thread, read as a stream (`pipelines.worker.run_in_worker`), for the layers above the studio (the UI)."""

from pipelines.worker import Emit, run_in_worker

__all__ = ["Emit", "run_in_worker"]
