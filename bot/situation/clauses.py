"""Where a clause begins and ends, and what is written just before or after a span in it. Pure.

Facts are read inside one clause: "我干了8年，交了6年社保" says 6 years of contributions, not 8; "我
今年58岁，儿子18岁" gives the claimant's age once. A clause ends at sentence or clause punctuation
(Chinese or Latin; not a colon, which joins a label to its value, nor a full stop between digits)
and at a line break.
"""
from __future__ import annotations

import bisect
import re
from typing import List, Tuple

_BREAK = re.compile(r"[，,。！!？?；;\n()（）“”\"]|(?<!\d)\.|\.(?!\d)|\s[-–—]\s|\bbut\b|但是|可是|不过")


class Clauses:
    """The clause boundaries of one text, found once."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._starts: List[int] = [0]
        self._ends: List[int] = []
        for match in _BREAK.finditer(text):
            self._ends.append(match.start())
            self._starts.append(match.end())
        self._ends.append(len(text))

    def bounds(self, position: int) -> Tuple[int, int]:
        """(start, end) of the clause holding `position`."""
        index = max(0, bisect.bisect_right(self._starts, position) - 1)
        return self._starts[index], self._ends[index]

    def before(self, start: int, width: int) -> str:
        """Up to `width` characters before `start`, inside its clause."""
        begin, _ = self.bounds(start)
        return self.text[max(begin, start - width):start]

    def after(self, end: int, width: int) -> str:
        """Up to `width` characters from `end`, inside its clause."""
        _, finish = self.bounds(max(0, end - 1))
        return self.text[end:min(finish, end + width)]

    def clause(self, position: int) -> str:
        begin, finish = self.bounds(position)
        return self.text[begin:finish]
