"""The production WSGI servers of `returns-hub serve`: gunicorn with N worker processes, or waitress in one."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

    from hub.core.config import Settings
    from hub.core.runtime import Runtime

log = logging.getLogger(__name__)

# on SIGTERM, requests in flight get this long to finish: inside the 30 s systemd's unit (TimeoutStopSec) allows
GRACEFUL_SECONDS = 25
KEEPALIVE_SECONDS = 120  # waitress' channel_timeout


def gunicorn_available() -> bool:
    """Whether gunicorn can run here (it needs fork: not on Windows)."""
    if sys.platform == "win32":
        return False
    try:
        import gunicorn.app.base  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        return False
    return True


def serve_waitress(app: Flask, host: str, port: int, threads: int) -> None:
    """Serve in this one process with waitress' threads."""
    from waitress import serve

    serve(app, host=host, port=port, threads=threads, ident="returns-hub")


def serve_gunicorn(
    settings: Settings,
    *,
    host: str,
    port: int,
    workers: int,
    threads: int,
    start_scheduler: Callable[[Runtime], None] | None,
) -> None:
    """Serve with gunicorn: one master, `workers` processes of `threads` threads each; returns on SIGTERM.

    Each worker builds its own app, so each has its own database engine: a pool of connections must never
    be shared across fork (the master holds no connection when it forks). With `start_scheduler`, exactly
    one worker runs the scheduled jobs (see `_Hub.pre_fork`)."""
    from gunicorn.app.base import BaseApplication

    class _Hub(BaseApplication):  # type: ignore[misc]  # gunicorn is untyped
        def load_config(self) -> None:
            options: dict[str, Any] = {
                "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
                "workers": workers,
                "worker_class": "gthread",
                "threads": threads,
                "preload_app": False,  # the app (and its engine) is created in each worker, after the fork
                "graceful_timeout": GRACEFUL_SECONDS,
                # an idle keep-alive connection stays open as long as under waitress (gunicorn's default is 2 s),
                # longer than nginx keeps its own to the upstream (keepalive_timeout 60 s): a client or proxy
                # must not send a request (a POST it cannot retry) on a connection the server is just closing
                "keepalive": KEEPALIVE_SECONDS,
                "proc_name": "returns-hub",
                # the app trusts proxy headers only with HUB_TRUSTED_PROXIES (werkzeug's ProxyFix), as under
                # waitress: gunicorn must not believe X-Forwarded-* from 127.0.0.1 on its own
                "forwarded_allow_ips": "",
                "secure_scheme_headers": {},
                # no runtime control socket: two app servers on one host would share its default path
                "control_socket_disable": True,
                "pre_fork": self.pre_fork,
                "post_worker_init": self.post_worker_init,
                "child_exit": self.child_exit,
            }
            for key, value in options.items():
                if key in self.cfg.settings:  # a setting an older gunicorn lacks is left out
                    self.cfg.set(key, value)

        def load(self) -> Flask:
            from hub.app import create_app

            return create_app(settings)

        @staticmethod
        def pre_fork(server: Any, worker: Any) -> None:
            # The scheduler runs in one designated worker rather than in the master: the master forks every
            # worker, and a fork copies its threads' locks and its open database connections into the child
            # (engines must not cross a fork); the master also stays small, so that it can always restart a
            # worker. The worker that holds it is marked before its fork; when it dies, the next one spawned
            # takes it over, so there is exactly one at any time.
            if start_scheduler is not None and not any(
                getattr(w, "hub_scheduler", False) for w in server.WORKERS.values()
            ):
                worker.hub_scheduler = True

        @staticmethod
        def post_worker_init(worker: Any) -> None:
            if start_scheduler is not None and getattr(worker, "hub_scheduler", False):
                start_scheduler(worker.wsgi.extensions["hub.core.runtime"])

        @staticmethod
        def child_exit(server: Any, worker: Any) -> None:
            if settings.prometheus_multiproc_dir is not None:  # its live gauges leave with it
                from prometheus_client import multiprocess

                multiprocess.mark_process_dead(worker.pid, str(settings.prometheus_multiproc_dir))  # type: ignore[no-untyped-call]

    _Hub().run()


def workers_default() -> int:
    """One worker process per core this process may run on (a container's CPU set, where the OS tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def describe_fallback(workers: int) -> str:
    """The line `serve` prints when it cannot run gunicorn."""
    return (
        f"gunicorn cannot run on this system ({sys.platform}): serving with waitress in one process "
        f"(--workers {workers} ignored)."
    )
