"""What the Slack listeners share: the context (runtime and worker threads), the Web API's URL and its errors."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from http.client import HTTPException
from typing import Any
from urllib.error import URLError

from slack_sdk.errors import SlackApiError

from hub.core.config import Settings
from hub.core.runtime import Runtime
from hub.workflow import Workflow

LISTENER_THREADS = 8

# the request never got an answer: no connection, a timeout, a broken response
TRANSPORT_ERRORS: tuple[type[Exception], ...] = (URLError, HTTPException, OSError)
# a Web API call that did not work, for whatever reason: Slack said no (SlackApiError), or never answered
SLACK_CALL_ERRORS: tuple[type[Exception], ...] = (SlackApiError, *TRANSPORT_ERRORS)


def api_url(settings: Settings) -> str:
    """SLACK_API_URL with the trailing slash the Web API client joins method names to."""
    url = settings.slack_api_url
    return url if url.endswith("/") else url + "/"


class ListenerExecutor(ThreadPoolExecutor):
    """Bolt's worker threads, counting the work still running so a caller can wait until it is done."""

    def __init__(self, max_workers: int = LISTENER_THREADS) -> None:
        super().__init__(max_workers, thread_name_prefix="slack-listener")
        self._busy = 0
        self._idle = threading.Condition()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Run fn on a worker thread, counted until it returns."""
        with self._idle:
            self._busy += 1

        def run() -> Any:
            try:
                return fn(*args, **kwargs)
            finally:
                with self._idle:
                    self._busy -= 1
                    self._idle.notify_all()

        try:
            return super().submit(run)
        except BaseException:
            with self._idle:
                self._busy -= 1
                self._idle.notify_all()
            raise

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every listener started so far has finished; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout)


@dataclass
class SlackContext:
    """What the listeners share: the runtime (settings, workflow, database, clock) and the worker threads."""

    runtime: Runtime
    executor: ListenerExecutor = field(default_factory=ListenerExecutor)

    @property
    def settings(self) -> Settings:
        """The app's settings."""
        return self.runtime.settings

    @property
    def workflow(self) -> Workflow:
        """The workflow configuration."""
        return self.runtime.workflow

    @property
    def base_url(self) -> str:
        """The hub's public URL, for links in messages."""
        return self.settings.base_url

    @property
    def command(self) -> str:
        """The slash command's name (HUB_SLACK_COMMAND)."""
        return self.settings.slack_command

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until the work started after the acknowledgements so far is done."""
        return self.executor.wait_idle(timeout)

    def close(self) -> None:
        """Finish the running listeners and stop the worker threads."""
        self.executor.shutdown(wait=True)
