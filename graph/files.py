"""Output files of the command line: checked before any work, written whole or not at all."""

from __future__ import annotations

import errno
import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from graph.errors import UsageError


def check_parents(path: Path, option: str = "", *, writable: bool = True) -> None:
    """UsageError when a file stands where a folder on the way to `path` must be (`--out notes.txt/x.csv`), or
    when a new `path` cannot be written in the nearest folder on the way to it (`--out /proc/x.csv`, a read-only
    folder): both were found only when the output was written, after the work, as "File exists: notes.txt" or
    as an error naming the scratch file (".x.csv.partial-2f3be442"). Writing there is tried (_cannot_write_in);
    not with `writable=False` (a new store, which says it in its own words)."""
    for parent in path.parents:  # the nearest first; the first that exists decides
        if parent.exists():
            if not parent.is_dir():
                raise UsageError(f"{option}{str(path)!r} cannot be made: {str(parent)!r} is a file, not a folder; "
                                 "give a path in a folder")
            if writable and not path.exists():  # an existing one is replaced, not written beside
                refused = _cannot_write_in(parent)
                if refused is not None:
                    raise UsageError(f"{option}{str(path)!r} cannot be written: {refused.strerror or refused} in "
                                     f"{str(parent)!r}; give a path in a folder you can write to") from refused
            return


def _cannot_write_in(folder: Path) -> OSError | None:
    """Why nothing can be made in `folder`, or None. Tried, not asked: os.access says yes to root everywhere,
    /proc included. An unnamed file (O_TMPFILE) is never seen in the folder and vanishes when closed, so a
    Ctrl-C at any moment leaves nothing (a probe folder made and removed was left behind by one, in a test);
    a file system without unnamed files (/proc says 'not supported') gets a probe folder, removed at once."""
    try:
        os.close(os.open(folder, os.O_TMPFILE | os.O_WRONLY, 0o600))
        return None
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):  # refused: read-only, no room, ...
            return exc
    probe = None
    try:
        probe = tempfile.mkdtemp(dir=folder, prefix=".citypeers-")
    except OSError as exc:
        return exc
    finally:
        if probe is not None:
            os.rmdir(probe)
    return None


def check_file(path: Path, option: str = "") -> None:
    """UsageError unless `path` can be written as one file: not a folder, no file on the way to it."""
    if path.is_dir():
        raise UsageError(f"{option}{str(path)!r} is a folder; give the name of a file to write")
    check_parents(path, option)


@contextmanager
def written_whole(path: Path) -> Iterator[Path]:
    """A scratch file beside `path` to write into, moved to `path` once it is whole: a write stopped part way
    (Ctrl-C, a full disk) leaves neither a half-written file at `path` nor the scratch file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.parent / f".{path.name}.partial-{secrets.token_hex(4)}"
    try:
        yield scratch
        scratch.replace(path)
    finally:
        scratch.unlink(missing_ok=True)
