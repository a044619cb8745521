"""One fact about the claimant's situation, found in a message, and the entity names. Pure."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Mapping

# The entity names: fixed, other code reads them (docs/entities.md).
CONTRIBUTION_YEARS = "contribution_years"  # int: completed years of contributions
AGE = "age"                                # int: the claimant's own age
BIRTH_YEAR = "birth_year"                  # int; `month` beside it when the month was given
GENDER = "gender"                          # MALE or FEMALE
JOB_END = "job_end"                        # DISMISSED or RESIGNED; role EMPLOYER_FAULT for a resignation over unpaid wages or insurance
CITY = "city"                              # the city's name, in the message's script
PROVINCE = "province"                      # the province's name, in the message's script
BENEFIT = "benefit"                        # a benefit's name, spelled as in the benefit lexicon

ENTITIES = (CONTRIBUTION_YEARS, AGE, BIRTH_YEAR, GENDER, JOB_END, CITY, PROVINCE, BENEFIT)

MALE, FEMALE = "male", "female"
DISMISSED, RESIGNED = "dismissed", "resigned"
EMPLOYER_FAULT = "employer_fault"


@dataclass(frozen=True)
class Fact:
    """`entity` has `value`, said by `text[start:end]` of the (normalised) message."""
    entity: str
    value: Any
    start: int
    end: int
    text: str
    extra: Mapping[str, Any] = field(default_factory=dict)  # `month` of a birth year, `role` of a job end

    def as_entity(self, extractor: str) -> Dict[str, Any]:
        """The Rasa entity: entity, value, start, end, the `text` it came from, and any extra keys."""
        return {"entity": self.entity, "value": self.value, "start": self.start, "end": self.end,
                "text": self.text, "extractor": extractor, **dict(self.extra)}
