"""The IDX reader: exact round trips, and a clear error for every kind of damaged file."""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minibayes.data import read_idx

from .idx_files import idx_bytes, write_idx

DTYPES = ["u1", "i1", ">i2", ">i4", ">f4", ">f8"]


@given(
    dtype=st.sampled_from(DTYPES),
    shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=5),
    gz=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_round_trip_is_exact(dtype, shape, gz, seed):
    rng = np.random.default_rng(seed)
    if dtype[-2] == "f":
        array = rng.standard_normal(shape).astype(dtype)
    else:
        info = np.iinfo(dtype)
        array = rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)
    # hypothesis and pytest's function-scoped tmp_path do not mix: a directory per example.
    with tempfile.TemporaryDirectory() as directory:
        # The file name says nothing: gzip is recognised from the content.
        path = write_idx(Path(directory) / "file", array, gz=gz)
        result = read_idx(path, ndim=len(shape))
    assert result.shape == shape
    assert result.dtype == np.dtype(dtype).newbyteorder("=")
    assert result.flags.writeable and result.dtype.isnative
    np.testing.assert_array_equal(result, array)


def test_reads_a_string_path_and_keeps_uint8(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = write_idx(tmp_path / "images-idx3-ubyte.gz", images)
    result = read_idx(str(path))
    assert result.dtype == np.uint8
    np.testing.assert_array_equal(result, images)


GOOD = idx_bytes(np.arange(6, dtype=">i4").reshape(2, 3))  # 4 + 8 header bytes + 24 data bytes


@pytest.mark.parametrize(
    "content, ndim, expected",
    [
        (b"\x08\x03" + GOOD[2:], None, "expected the magic number to start with bytes 00 00, found 08 03"),
        (b"\x00\x00\x0a" + GOOD[3:], None, "unknown IDX type code 0x0A; expected one of 0x08 (uint8)"),
        (GOOD, 3, "expected an IDX file with 3 dimension(s), found 2"),
        (b"\x00\x00\x0c\x00", None, "the header declares 0 dimensions; expected at least 1"),
        (b"\x00\x00", None, "expected a 4-byte magic number, found 2 bytes"),
        (GOOD[:9], None, "truncated header: expected 12 bytes for 2 dimension sizes, found 9"),
        (GOOD[:-1], None, "truncated: expected 36 bytes (12-byte header + 2 x 3 elements of int32"),
        (GOOD + b"\x00", None, "too long: expected 36 bytes (12-byte header + 2 x 3 elements of int32"),
        (b"", None, "found 0 bytes"),
    ],
    ids=["magic", "type-code", "ndim", "zero-dims", "short-magic", "short-header", "short-body",
         "too-long", "empty"],
)
@pytest.mark.parametrize("gz", [False, True])
def test_damaged_files_name_the_file_and_the_expectation(tmp_path, content, ndim, expected, gz):
    path = tmp_path / "damaged-idx"
    path.write_bytes(gzip.compress(content) if gz else content)
    with pytest.raises(ValueError) as info:
        read_idx(path, ndim=ndim)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert expected in message


def test_truncated_gzip_stream_is_a_value_error(tmp_path):
    path = tmp_path / "cut.gz"
    compressed = gzip.compress(GOOD)
    path.write_bytes(compressed[: len(compressed) // 2])
    with pytest.raises(ValueError, match="corrupt or truncated gzip stream") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_gzip_with_broken_checksum_is_a_value_error(tmp_path):
    path = tmp_path / "crc.gz"
    compressed = bytearray(gzip.compress(GOOD))
    compressed[-8] ^= 0xFF  # the CRC-32 of the uncompressed data
    path.write_bytes(bytes(compressed))
    with pytest.raises(ValueError, match="corrupt or truncated gzip stream"):
        read_idx(path)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "absent")
