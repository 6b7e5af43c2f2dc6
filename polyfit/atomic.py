"""Output files written like a careful Unix tool writes them.

- :func:`output_target` checks a path before any work: a trailing ``/``, a folder, a device
  node, a FIFO or socket, a missing or unwritable folder are one-line InputErrors. A symlink
  is followed: its target is written and the link is kept.
- :func:`write_files` writes one or several files atomically: every file goes to a temp file
  in its destination folder (fsync'ed) first, then all are renamed into place, so a failure
  leaves neither a temp file nor a subset of the outputs. A new file gets the mode a plain
  ``open()`` would give (0o666 minus the umask), a replaced file keeps its mode.
- Temp files are removed on SIGINT and SIGTERM: SIGINT raises KeyboardInterrupt; SIGTERM,
  where its handler is the default, is caught during the write, the temp files are removed
  and the signal is raised again with the default action (the process still ends by it).
"""
from __future__ import annotations

import errno
import io
import os
import signal
import stat
import tempfile
import threading

from .errors import InputError

_KINDS = ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"))


def output_target(path, label: str = "output") -> str:
    """The real path that writing ``path`` will replace, checked before any work is done.

    Raises InputError ``<label> '<path>': <problem>`` when ``path`` is empty, ends with a
    path separator, names a folder or a special file (device, FIFO, socket), a symlink
    loop, a read-only file, or lies in a folder that is missing or not writable (checked by
    creating and removing a temp file there, which also catches read-only file systems).
    """
    text = os.fspath(path)
    if not isinstance(text, str) or not text:
        raise InputError(f"{label} {text!r}: give a file path")
    where = f"{label} {text!r}"
    if text.endswith(os.sep) or (os.altsep and text.endswith(os.altsep)):
        raise InputError(f"{where} ends with {text[-1]!r}, so it names a folder; give a file path")
    real = os.path.realpath(text)
    try:
        info = os.stat(real)
    except FileNotFoundError:
        info = None
    except OSError as exc:  # ELOOP (symlink loop), EACCES on a parent, ...
        raise InputError(f"{where}: {exc.strerror}") from None
    if info is not None:
        if stat.S_ISDIR(info.st_mode):
            raise InputError(f"{where} is a folder; give a file path inside it")
        for test, kind in _KINDS:
            if test(info.st_mode):
                raise InputError(f"{where} is {kind}, not a regular file; give a file path (or --json to print)")
        if not os.access(real, os.W_OK):
            raise InputError(f"{where} is read-only; remove it or choose another path")
    check_folder(os.path.dirname(real), where)
    return real


def check_folder(folder, where: str) -> str:
    """InputError ``<where>: ...`` unless ``folder`` exists and a file can be created in it
    (tried for real: a temp file is created and removed, which also catches read-only mounts)."""
    folder = os.path.abspath(folder)
    if not os.path.isdir(folder):
        raise InputError(f"{where}: folder {folder!r} does not exist")
    try:
        fd, probe = tempfile.mkstemp(prefix=".polyfit-probe.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        reason = {errno.EROFS: "read-only file system", errno.EACCES: "permission denied",
                  errno.EPERM: "permission denied"}.get(exc.errno, (exc.strerror or str(exc)).lower())
        raise InputError(f"{where}: cannot create files in folder {folder!r} ({reason})") from None
    return folder


def new_file_mode() -> int:
    """0o666 minus the process umask: the mode ``open(path, 'w')`` gives a new file."""
    return 0o666 & ~_umask()


def _umask() -> int:
    try:  # Linux: read it without changing it (os.umask would, briefly, for every thread)
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_files(items) -> list[str]:
    """Write ``[(path, bytes[, label]), ...]`` atomically and together; returns the paths as given.

    Each path is checked by :func:`output_target` (``label`` names it in messages). Phase 1
    writes and fsyncs a temp file next to every destination; phase 2 renames them all into
    place and fsyncs the folders. On any error or interrupt before phase 2 ends, every
    remaining temp file is removed.
    """
    plans = []
    for item in items:
        path, data, label = (tuple(item) + ("output",))[:3]
        plans.append((os.fspath(path), output_target(path, label), data))
    temps: list[str] = []
    with _cleanup_on_sigterm():
        try:
            for _, real, data in plans:
                temps.append(_write_temp(real, data))
            for (_, real, _), tmp in zip(plans, list(temps)):
                os.replace(tmp, real)
                temps.remove(tmp)
            for folder in {os.path.dirname(real) for _, real, _ in plans}:
                _fsync_folder(folder)
        except BaseException:
            for tmp in temps:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
            raise
    return [shown for shown, _, _ in plans]


def _write_temp(real: str, data: bytes) -> str:
    folder, name = os.path.split(real)
    try:
        mode = stat.S_IMODE(os.stat(real).st_mode)
    except FileNotFoundError:
        mode = new_file_mode()
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def _fsync_folder(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot fsync a folder; the rename is done anyway
        pass
    finally:
        os.close(fd)


class _Terminated(BaseException):
    """SIGTERM arrived while temp files existed (raised by the temporary handler)."""


class _cleanup_on_sigterm:
    """While writing: turn a default-action SIGTERM into an exception, so temp files are
    removed, then end the process by SIGTERM as it would have ended."""

    def __enter__(self):
        self.previous = None
        if threading.current_thread() is threading.main_thread():
            try:
                if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
                    self.previous = signal.signal(signal.SIGTERM, self._raise)
            except (ValueError, OSError):
                self.previous = None
        return self

    @staticmethod
    def _raise(signum, frame):
        raise _Terminated()

    def __exit__(self, kind, value, tb):
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)
        if kind is _Terminated:
            signal.raise_signal(signal.SIGTERM)  # default action now: the process ends
        return False


def atomic_write_bytes(path, data: bytes, label: str = "output") -> str:
    """Write ``data`` to ``path`` atomically (see :func:`write_files`); returns the path."""
    return write_files([(path, data, label)])[0]


def atomic_write_text(path, text: str, label: str = "output") -> str:
    """UTF-8 text version of :func:`atomic_write_bytes`."""
    return atomic_write_bytes(path, text.encode("utf-8"), label)


def figure_png(make_figure, dpi: int = 110) -> bytes:
    """PNG bytes of ``make_figure()`` (a matplotlib Figure, drawn with Agg); the figure is closed."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig = make_figure()
    try:
        buffer = io.BytesIO()
        fig.savefig(buffer, dpi=dpi, format="png")
    finally:
        plt.close(fig)
    return buffer.getvalue()


def save_figure(make_figure, path, dpi: int = 110) -> str:
    """Render ``make_figure()`` to PNG at ``path`` atomically; the path is checked first."""
    output_target(path, "plot")  # before drawing
    return atomic_write_bytes(path, figure_png(make_figure, dpi), "plot")
