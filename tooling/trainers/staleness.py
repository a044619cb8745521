"""Knowledge-base entries due for a re-check soon. Pure: parsed files and a date in, warnings out.

`make validate` prints a warning for every entry whose `last_reviewed` is older than the configured
age (default 180 days: `--stale-after DAYS` or `RENBEN_KB_STALE_DAYS`), with its sources, so a
trainer knows what to check again. Warnings do not fail validation; an entry more than a year old
fails it (`checks.REVIEW_MAX_DAYS`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Mapping, Optional, Sequence, Tuple

from tooling.trainers.yamldoc import YamlDoc

DEFAULT_STALE_DAYS = 180
STALE_DAYS_ENV = "RENBEN_KB_STALE_DAYS"


def stale_days(value: Optional[str]) -> int:
    """The configured age in days (None or "": the default). Raises ValueError saying what is wrong."""
    if value is None or not str(value).strip():
        return DEFAULT_STALE_DAYS
    try:
        days = int(str(value).strip())
    except ValueError:
        raise ValueError(f"the review age must be a whole number of days, not {value!r}") from None
    if days < 1:
        raise ValueError(f"the review age must be at least 1 day, not {days}")
    return days


@dataclass(frozen=True)
class Recheck:
    """One source to check the entry against again."""

    section: str  # "" for an answer; "unemployment", "pension" in the figures file
    ref: str
    title: str
    url: str


@dataclass(frozen=True)
class StaleEntry:
    path: Path
    line: int
    reviewed: dt.date
    age_days: int
    recheck: Tuple[Recheck, ...]

    def render(self, root: Optional[Path] = None, *, stale_after: int = DEFAULT_STALE_DAYS) -> str:
        shown = self.path
        if root is not None:
            try:
                shown = self.path.relative_to(root)
            except ValueError:
                pass
        lines = [
            f"{shown}:{self.line}: warning: last reviewed {self.reviewed}, {self.age_days} days ago "
            f"(more than {stale_after}): re-check it against"
        ]
        for source in self.recheck:
            where = f"[{source.section}] " if source.section else ""
            lines.append(f"    - {where}{source.ref}: {source.title} <{source.url}>")
        if not self.recheck:
            lines.append("    - (no sources listed: find the official source for every fact)")
        lines.append("    -> check every fact against these sources, then set `last_reviewed` to that date")
        return "\n".join(lines)


def stale_entries(docs: Sequence[YamlDoc], *, today: dt.date, stale_after: int) -> List[StaleEntry]:
    """Entries (answers and the figures file) last reviewed more than `stale_after` days before
    `today`, oldest first. Entries without a valid date are left to `checks.check_kb`."""
    found = []
    for doc in docs:
        data = doc.data if isinstance(doc.data, dict) else {}
        reviewed = data.get("last_reviewed")
        if not isinstance(reviewed, dt.date) or reviewed > today:
            continue
        age = (today - reviewed).days
        if age > stale_after:
            found.append(StaleEntry(doc.path, doc.line("last_reviewed"), reviewed, age, tuple(_sources(data))))
    return sorted(found, key=lambda entry: (entry.reviewed, str(entry.path)))


def _sources(data: Mapping[str, Any]) -> List[Recheck]:
    """An answer's `sources`, or the sources of every section of the figures file."""
    sections = (
        [("", data.get("sources"))]
        if "sources" in data
        else [(str(name), section.get("sources")) for name, section in data.items() if isinstance(section, dict)]
    )
    found = []
    for section, sources in sections:
        for source in sources if isinstance(sources, list) else []:
            if isinstance(source, dict):
                found.append(
                    Recheck(
                        section,
                        str(source.get("ref") or ""),
                        str(source.get("en") or source.get("zh") or ""),
                        str(source.get("url") or ""),
                    )
                )
    return found
