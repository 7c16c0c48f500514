"""Files juece writes outside the database (a checkpoint, a proof, the workspace config): whole or not at all.

`write_file_atomically` writes to a temporary file in the same folder, fsyncs it, and renames it over the name (and
fsyncs the folder), so a crash or a full disk never leaves a half-written file under the name the user gave; with
`overwrite=False` an existing file is never replaced (the check and the rename are one step: `os.link`)."""

from __future__ import annotations

import os
from pathlib import Path


def write_file_atomically(path: Path, data: bytes, *, overwrite: bool = True, mode: int = 0o644) -> None:
    """Write `data` to `path` whole or not at all. With `overwrite=False`, `FileExistsError` if `path` exists (then
    nothing was changed)."""
    import tempfile  # with shutil, random and the compressors it loads: not on the read path (`case show`)

    folder = path.parent
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        if overwrite:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if the name exists: never a silent overwrite, even against a racing writer
            os.unlink(tmp)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # a folder that cannot be opened for fsync (some platforms): the rename is still atomic
    try:
        os.fsync(dir_fd)
    except OSError:
        pass  # fsync of a directory is not supported everywhere; the file itself was synced
    finally:
        os.close(dir_fd)
