"""Progress bars for long work (a first backlog, train, eval): on a terminal only, never in logs."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tqdm import tqdm


@contextmanager
def bar(description: str, total: int | None, quiet: bool) -> Iterator[Callable[[int], None]]:
    """A callback advancing a bar by n; silent with --quiet or when stderr is not a terminal."""
    with tqdm(
        total=total,
        desc=description,
        unit="msg",
        disable=quiet or not sys.stderr.isatty(),
        leave=False,
        file=sys.stderr,
    ) as shown:

        def advance(n: int) -> None:
            shown.update(n)

        yield advance
