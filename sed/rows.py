"""Row bookkeeping of segment matrices: each file (or recording) is a range of rows.

A matrix of segment features stacks the segments of consecutive files; ``offsets``
[n_files + 1] delimit them (file ``i`` is rows ``offsets[i]:offsets[i + 1]``).
"""

from __future__ import annotations

import numpy as np


def check_offsets(offsets, n_rows: int) -> np.ndarray:
    """``offsets`` as int64 after checking that they delimit ``n_rows`` rows: 1-d, from 0 to
    ``n_rows``, never decreasing (``ValueError`` otherwise).

    Examples
    --------
    >>> check_offsets([0, 2, 2, 5], 5).tolist()
    [0, 2, 2, 5]
    """
    off = np.asarray(offsets, dtype=np.int64)
    if off.ndim != 1 or len(off) < 1 or off[0] != 0 or off[-1] != n_rows or np.any(
            np.diff(off) < 0):
        raise ValueError(f"offsets must start at 0, end at the number of rows ({n_rows}) and "
                         "never decrease")
    return off


def row_ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``concatenate([arange(s, s + n) for s, n in zip(starts, lengths)])``, vectorised.

    Examples
    --------
    >>> row_ranges([10, 3], [2, 3]).tolist()
    [10, 11, 3, 4, 5]
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    if not len(lengths):
        return np.zeros(0, np.int64)
    firsts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    return (np.repeat(np.asarray(starts, dtype=np.int64) - firsts, lengths)
            + np.arange(int(lengths.sum())))


def file_rows(offsets: np.ndarray, files) -> np.ndarray:
    """Row indices of the segments of ``files`` (indices into ``offsets``), concatenated in
    the given order.

    Examples
    --------
    >>> file_rows(np.array([0, 2, 5, 6]), [2, 0]).tolist()
    [5, 0, 1]
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    files = np.asarray(files, dtype=np.int64)
    return row_ranges(offsets[files], offsets[files + 1] - offsets[files])
