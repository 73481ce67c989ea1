"""A set of non-negative integers kept as sorted disjoint ranges: the oracles' record of sequence numbers.

Acknowledged LSNs, the LSNs durable in a log, the writes a replica holds: an oracle keeps them as
ranges, so memory grows with the number of gaps, not the number of writes.
"""

from __future__ import annotations

from bisect import bisect_right


class RangeSet:
    """A set of non-negative ints kept as sorted, disjoint, non-adjacent half-open ranges.

    Adding the next integer after the last range is O(1); memory grows with the number of gaps.
    """

    __slots__ = ("_lo", "_hi", "_n")

    def __init__(self, items=()) -> None:
        self._lo: list[int] = []
        self._hi: list[int] = []
        self._n = 0
        for x in items:
            self.add(x)

    def add(self, x: int) -> None:
        hi = self._hi
        if hi and hi[-1] == x:  # fast path: appending in order
            hi[-1] = x + 1
            self._n += 1
            return
        self.add_range(x, x + 1)

    def add_range(self, a: int, b: int) -> None:
        """Add [a, b)."""
        if b <= a:
            return
        lo, hi = self._lo, self._hi
        # ranges that overlap or touch [a, b): indexes i..j-1
        i = bisect_right(hi, a - 1)  # first range with hi >= a
        j = bisect_right(lo, b)  # first range with lo > b
        if i == j:
            lo.insert(i, a)
            hi.insert(i, b)
            self._n += b - a
            return
        na = min(a, lo[i])
        nb = max(b, hi[j - 1])
        covered = sum(hi[k] - lo[k] for k in range(i, j))
        lo[i:j] = [na]
        hi[i:j] = [nb]
        self._n += (nb - na) - covered

    def update(self, other: RangeSet) -> None:
        for a, b in zip(other._lo, other._hi, strict=True):
            self.add_range(a, b)

    def __contains__(self, x: int) -> bool:
        i = bisect_right(self._lo, x)
        return i > 0 and x < self._hi[i - 1]

    def __len__(self) -> int:
        return self._n

    def ranges(self) -> list[tuple[int, int]]:
        return list(zip(self._lo, self._hi, strict=True))

    def difference(self, other: RangeSet) -> RangeSet:
        """Elements of self not in other."""
        out = RangeSet()
        olo, ohi = other._lo, other._hi
        k = 0
        for a, b in zip(self._lo, self._hi, strict=True):
            while k < len(ohi) and ohi[k] <= a:
                k += 1
            cur = a
            m = k
            while cur < b and m < len(olo) and olo[m] < b:
                if olo[m] > cur:
                    out.add_range(cur, olo[m])
                cur = max(cur, ohi[m])
                m += 1
            if cur < b:
                out.add_range(cur, b)
        return out

    def first(self, k: int) -> list[int]:
        """The k smallest elements."""
        out: list[int] = []
        for a, b in zip(self._lo, self._hi, strict=True):
            for x in range(a, b):
                if len(out) >= k:
                    return out
                out.append(x)
        return out

    def __iter__(self):
        for a, b in zip(self._lo, self._hi, strict=True):
            yield from range(a, b)
