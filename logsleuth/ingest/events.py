"""A TensorBoard event file through the first reader that can read it: the numpy reader
(ingest.tbfast), then the protobuf reader (ingest.tensorboard), then tbparse."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import InputError
from .tbfast import read_tensorboard_fast
from .tensorboard import read_tensorboard, read_with_tbparse

if TYPE_CHECKING:
    from .discover import LogFile
    from .tidy import ReadResult


def read_event_file(f: LogFile) -> ReadResult:
    """One event file as a tidy table (the prefix of a Keras `train/` directory on its tags)."""
    try:
        return read_tensorboard_fast(f.path, prefix=f.prefix)
    except InputError:
        raise
    except Exception:  # the protobuf reader is the fallback for anything unexpected
        pass
    try:
        return read_tensorboard(f.path, prefix=f.prefix)
    except InputError:
        raise
    except Exception as exc:
        try:
            res = read_with_tbparse(f.path, prefix=f.prefix)
        except Exception:
            raise InputError(f.path, f"not a readable TensorBoard event file ({type(exc).__name__}: {exc})") from exc
        res.warnings.append(f"{f.path}: read with tbparse after the fast reader failed ({type(exc).__name__})")
        return res
