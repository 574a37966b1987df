"""`chainsight up`'s quiet start: one line per step with its elapsed time, component output in a log file.

Ray, Serve, vLLM and Ray Train write to the process's stdout and stderr from Python, C++ and child processes
alike, so the quiet mode redirects the file descriptors themselves (children inherit them) to the log file and
draws the progress on a copy of the original terminal. Verbose mode leaves both streams alone.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from rich.console import Console
from rich.markup import escape

from common.errors import describe

logger = logging.getLogger(__name__)
_ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class Step:
    """What a running step reports on its line besides its label and elapsed time: a detail, or a warning
    (the step finished but not fully; shown with ! instead of ✓)."""

    detail: str = ""
    warning: str | None = None


@dataclass
class StartupDisplay:
    console: Console
    log_path: Path | None
    label_width: int = 26
    started: float = field(default_factory=time.monotonic)

    @contextmanager
    def step(self, label: str) -> Iterator[Step]:
        """Show ``label`` while the block runs (a spinner on a terminal), then one ✓ line; ✗ and re-raise on error."""
        step = Step()
        begun = time.monotonic()
        logger.info("step started: %s", label)
        status = self.console.status(escape(label)) if self.console.is_terminal else nullcontext()
        try:
            with status:
                yield step
        except BaseException as exc:
            self.console.print(f"  [red]✗[/] {escape(label):<{self.label_width}} {escape(self.failure(exc))}")
            logger.exception("step failed: %s", label)
            raise
        self.done(label, step.warning or step.detail, time.monotonic() - begun, warning=step.warning is not None)

    def done(self, label: str, detail: str = "", elapsed_s: float | None = None, *, warning: bool = False) -> None:
        """A ✓ line for something that finished on its own (e.g. one deployment of the Serve application)."""
        elapsed = f"{elapsed_s:6.1f} s" if elapsed_s is not None else ""
        mark = "[yellow]![/]" if warning else "[green]✓[/]"
        line = f"  {mark} {escape(label):<{self.label_width}} {elapsed}  [dim]{escape(detail)}[/]"
        self.console.print(line.rstrip())
        logger.info("step done: %s (%s) %s", label, detail, elapsed)

    def failure(self, exc: BaseException) -> str:
        where = f"; full output in {self.log_path}" if self.log_path else ""
        message = _ANSI_COLOUR.sub("", describe(exc))  # Ray colours its task errors
        return message.splitlines()[0][:200] + where

    def total_s(self) -> float:
        return time.monotonic() - self.started


@contextmanager
def startup_output(log_dir: Path, *, verbose: bool) -> Iterator[StartupDisplay]:
    """Quiet (default): stdout and stderr go to ``log_dir/up.log`` while the block runs; stderr stays there
    afterwards (Ray keeps logging from background threads), stdout comes back for the final summary.
    Verbose: everything streams to the terminal as it comes, and the steps are printed between."""
    if verbose:
        yield StartupDisplay(Console(highlight=False, soft_wrap=True), None)
        return
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / "up.log"
    sys.stdout.flush()
    sys.stderr.flush()
    terminal = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    saved_stdout = os.dup(1)
    log_file: IO[str] = open(log_path, "a", buffering=1)  # noqa: SIM115 (held for the process's life: stderr's target)
    os.dup2(log_file.fileno(), 1)
    os.dup2(log_file.fileno(), 2)
    handler = logging.StreamHandler(log_file)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(min(root.level or logging.INFO, logging.INFO))
    try:
        yield StartupDisplay(Console(file=terminal, highlight=False, soft_wrap=True), log_path)
    finally:
        sys.stdout.flush()
        os.dup2(saved_stdout, 1)
        os.close(saved_stdout)
        terminal.close()


def link_log(log_dir: Path, name: str, target: Path) -> Path:
    """``log_dir/name`` as a symlink to ``target`` (a component's own log file or folder), replaced if present."""
    link = log_dir / name
    log_dir.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(target.resolve())
    return link
