"""The languages Renben speaks, as the codes used everywhere: the `language` slot, data folders
(`data/nlu/zh/`), knowledge-base sections, wire frames, desk queues. Defined here once; a third
language starts here (and then needs its data, domain texts and phrases).
"""

from __future__ import annotations

ZH, EN = "zh", "en"

#: Every language, Chinese (the default where none is known) first.
LANGUAGES = (ZH, EN)
