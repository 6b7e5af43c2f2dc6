"""Atomic file writes: a temp file in the target's folder, fsync, then os.replace.

A reader sees either the old file or the whole new one, never a half-written file, and a
failure leaves no temp file behind.
"""
from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

from .errors import InputError


def existing_folder(path, label: str = "cannot write") -> str:
    """The folder ``path`` would be written in (absolute); InputError when it does not exist.

    The message reads ``<label> '<path>': folder '<folder>' does not exist``.
    """
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise InputError(f"{label} {str(path)!r}: folder {folder!r} does not exist")
    return folder


def atomic_write_bytes(path, data: bytes) -> str:
    """Write ``data`` to ``path`` atomically; returns the path as a string."""
    path = Path(path)
    folder = existing_folder(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return str(path)


def atomic_write_text(path, text: str) -> str:
    """UTF-8 text version of :func:`atomic_write_bytes`."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def save_figure(make_figure, path, dpi: int = 110) -> str:
    """Render ``make_figure()`` (a matplotlib Figure) to PNG at ``path`` atomically.

    The folder is checked before the figure is drawn; the figure is always closed.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    existing_folder(path)  # before drawing
    fig = make_figure()
    try:
        buffer = io.BytesIO()
        fig.savefig(buffer, dpi=dpi, format="png")
    finally:
        plt.close(fig)
    return atomic_write_bytes(path, buffer.getvalue())
