"""Reader for the IDX format of (Fashion-)MNIST, with checks that turn a corrupt or
truncated file into a clear error instead of garbage tensors."""

from __future__ import annotations

import numpy as np

# The third byte of the magic number names the element type.
_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class IdxError(ValueError):
    """The bytes are not a well-formed IDX file."""


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decode an IDX byte string into an array of its declared shape."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise IdxError(f"{name}: not an IDX file (bad magic number)")
    code, ndim = data[2], data[3]
    if code not in _DTYPES or ndim == 0:
        raise IdxError(f"{name}: not an IDX file (type code {code:#x}, {ndim} dimensions)")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IdxError(f"{name}: truncated header")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_DTYPES[code])
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(data) != expected:
        raise IdxError(f"{name}: expected {expected} bytes for shape {shape}, found {len(data)}")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))
