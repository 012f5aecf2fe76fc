"""Reading a log file's text safely: BOM, gzip, binary content, invalid UTF-8."""

from __future__ import annotations

import gzip
import os

from ..errors import InputError

MAX_TEXT_BYTES = 2 * 1024**3  # larger text logs are refused with a message, not loaded


def read_bytes(path: str, data: bytes | None = None) -> tuple[bytes, list[str]]:
    """The file's bytes (gzip undone, BOM removed) with the same checks as read_text; `data`:
    a piece of the file already read (streaming), checked the same way."""
    warnings: list[str] = []
    if data is not None:
        raw = data
    else:
        try:
            with open(path, "rb") as fh:
                if os.fstat(fh.fileno()).st_size > MAX_TEXT_BYTES:
                    raise InputError(path, f"larger than {MAX_TEXT_BYTES // 1024**2} MiB and not a log that can be "
                                           "read in pieces (CSV, JSON lines); split it or convert it to TensorBoard")
                raw = fh.read()  # read(n) would preallocate n bytes
        except OSError as exc:
            raise InputError(path, f"cannot read: {exc.strerror or exc}") from exc
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise InputError(path, f"gzip-compressed but cannot be decompressed: {exc}") from exc
        warnings.append(f"{path}: gzip-compressed; read after decompressing")
    if raw.endswith(b"\x00"):  # a crash before buffered data reached a preallocated or extended file
        kept = raw.rstrip(b"\x00")
        warnings.append(f"{path}: {len(raw) - len(kept)} NUL bytes at the end from byte {len(kept)} ignored "
                        "(the job died before that part of the file was written?)")
        raw = kept
    if b"\x00" in raw[:65536]:
        raise InputError(path, "binary content (NUL bytes) where a text log was expected")
    head = raw[:65536]
    if head and head.decode("utf-8", errors="replace").count("\ufffd") > 0.1 * len(head):
        raise InputError(path, "binary content (mostly bytes that are not UTF-8 text) where a text log was expected")
    if raw[:3] == b"\xef\xbb\xbf":
        raw = raw[3:]
    return raw, warnings


def read_text(path: str, data: bytes | None = None, keep_cr: bool = False) -> tuple[str, list[str]]:
    """The file's text (UTF-8, BOM removed, CRLF normalised) and warnings; a lone carriage
    return (a progress bar redrawn in place) ends a line too, unless `keep_cr`: then the lines
    are the file's as `grep -n` counts them."""
    raw, warnings = read_bytes(path, data)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        text = raw.decode("utf-8", errors="replace")
        warnings.append(f"{path}: invalid UTF-8 at byte {exc.start}; undecodable bytes replaced")
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if not keep_cr:
            text = text.replace("\r", "\n")
    return text, warnings
