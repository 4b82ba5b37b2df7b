"""Reading IDX files, the format of MNIST and Fashion-MNIST.

An IDX file is a header followed by one C-ordered array, all big-endian::

    bytes 0-1      0x00 0x00
    byte  2        the element type (one of ``IDX_DTYPES``)
    byte  3        the number of dimensions d
    4 d bytes      the d dimension sizes, unsigned 32-bit
    the rest       prod(sizes) elements of that type

(Y. LeCun, C. Cortes and C. J. C. Burges, "The MNIST database of handwritten
digits".) The reader trusts nothing: every field is checked, and the file must
hold exactly the bytes the header announces, so a truncated download is an
error here rather than a silent batch of zeros later.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy

__all__ = ["IDX_DTYPES", "read_idx"]

# Type codes of the IDX format; multi-byte types are stored big-endian.
IDX_DTYPES: dict[int, numpy.dtype] = {
    0x08: numpy.dtype("u1"),
    0x09: numpy.dtype("i1"),
    0x0B: numpy.dtype(">i2"),
    0x0C: numpy.dtype(">i4"),
    0x0D: numpy.dtype(">f4"),
    0x0E: numpy.dtype(">f8"),
}

# The first two bytes of every gzip stream (RFC 1952). An IDX file starts with
# two zero bytes instead, so the content, not the file name, says which it is.
_GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path: Path) -> bytes:
    """The file's content, decompressed when it is a gzip stream."""
    raw = path.read_bytes()
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    # A cut-off download ends the gzip stream early (EOFError) or breaks its CRC.
    except (EOFError, OSError, zlib.error) as exc:
        raise ValueError(f"{path}: corrupt or truncated gzip stream ({exc})") from exc


def _describe(shape: tuple[int, ...], dtype: numpy.dtype) -> str:
    dims = " x ".join(str(size) for size in shape) or "scalar"
    return f"{dims} elements of {dtype.name} ({dtype.itemsize} byte{'s' * (dtype.itemsize > 1)} each)"


def read_idx(path: str | os.PathLike, ndim: int | None = None) -> numpy.ndarray:
    """Read an IDX file (raw or gzip-compressed) into a NumPy array.

    Parameters
    ----------
    path : str or path-like
        The file, e.g. ``train-images-idx3-ubyte.gz``. Gzip compression is
        recognised from the content, whatever the file is called.
    ndim : int, optional
        The number of dimensions the caller expects (3 for an image file,
        1 for a label file); a file with another number is refused.

    Returns
    -------
    array : numpy.ndarray of shape (d_1, ..., d_ndim)
        The shape the header gives, in native byte order (a writable copy),
        with the header's element type: uint8, int8, int16, int32, float32
        or float64.

    Raises
    ------
    ValueError
        When the magic number, the type code, the number of dimensions or the
        file length is not what the format requires; the message names the
        file and says what was expected and what was found.
    FileNotFoundError
        When ``path`` does not exist.
    """
    path = Path(path)
    content = _read_bytes(path)
    if len(content) < 4:
        raise ValueError(
            f"{path}: not an IDX file: expected a 4-byte magic number, found {len(content)} bytes"
        )
    if content[0] != 0 or content[1] != 0:
        raise ValueError(
            f"{path}: not an IDX file: expected the magic number to start with bytes 00 00, "
            f"found {content[:2].hex(' ')}"
        )
    code, n_dims = content[2], content[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{key:02X} ({value.name})" for key, value in IDX_DTYPES.items())
        raise ValueError(f"{path}: unknown IDX type code 0x{code:02X}; expected one of {known}")
    if n_dims == 0:
        raise ValueError(f"{path}: the header declares 0 dimensions; expected at least 1")
    if ndim is not None and n_dims != ndim:
        raise ValueError(f"{path}: expected an IDX file with {ndim} dimension(s), found {n_dims}")

    header_size = 4 + 4 * n_dims
    if len(content) < header_size:
        raise ValueError(
            f"{path}: truncated header: expected {header_size} bytes for {n_dims} dimension "
            f"sizes, found {len(content)}"
        )
    shape = tuple(int(size) for size in numpy.frombuffer(content, ">u4", count=n_dims, offset=4))
    dtype = IDX_DTYPES[code]
    # Python ints: prod of uint32 sizes in NumPy could overflow int64 silently.
    n_elements = 1
    for size in shape:
        n_elements *= size
    expected = header_size + n_elements * dtype.itemsize
    if len(content) != expected:
        kind = "truncated" if len(content) < expected else "too long"
        raise ValueError(
            f"{path}: {kind}: expected {expected} bytes ({header_size}-byte header + "
            f"{_describe(shape, dtype)}), found {len(content)}"
        )
    array = numpy.frombuffer(content, dtype, count=n_elements, offset=header_size)
    # astype copies: the result owns writable memory in native byte order.
    return array.astype(dtype.newbyteorder("="), copy=True).reshape(shape)
