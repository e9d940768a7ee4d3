"""The OPD news score and rank: pure arithmetic over one period's figures.

In the spirit of the national media-centre ranking (Anugerah Media Center), which weighs the
quantity and the quality of the news and photos a region contributes, and of the regent's
rule that every OPD reports every working day. Out of 100 points:

- quantity, 40: articles published against what the quota expects (`per_day` × working
  days), capped at the quota, so a flood on one day cannot hide silence on the others;
- quality, 30: 20 for the share of the OPD's decided articles that were published rather
  than rejected, 10 for the share of published articles that carry at least one photo;
- regularity, 30: the share of working days on which the OPD submitted at least one article.

A period without working days expects nothing and scores nothing. Ranks are standard
competition ranks (1, 2, 2, 4): equal scores share a rank, so an order of OPD codes never
decides who is ahead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

QUANTITY_POINTS = 40
PUBLISHED_RATIO_POINTS = 20
PHOTO_POINTS = 10
REGULARITY_POINTS = 30


@dataclass(frozen=True)
class Figures:
    """What one OPD did in one period."""

    opd: str
    working_days: int
    days_with_submission: int
    submitted: int
    published: int
    rejected: int
    published_with_photo: int
    per_day: int = 1

    def __post_init__(self) -> None:
        for name in ("working_days", "days_with_submission", "submitted", "published",
                     "rejected", "published_with_photo"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.per_day < 1:
            raise ValueError("per_day must be at least 1")
        if self.published_with_photo > self.published:
            raise ValueError("published_with_photo cannot exceed published")


@dataclass(frozen=True)
class Score:
    """The score of one OPD and its parts, each rounded to two decimals."""

    opd: str
    quantity: float
    published_ratio: float
    photo_use: float
    regularity: float

    @property
    def total(self) -> float:
        return round(self.quantity + self.published_ratio + self.photo_use + self.regularity, 2)


@dataclass(frozen=True)
class Ranked:
    rank: int
    score: Score


def _share(part: int, whole: int) -> float:
    return min(1.0, part / whole) if whole > 0 else 0.0


def score(figures: Figures) -> Score:
    expected = figures.per_day * figures.working_days
    decided = figures.published + figures.rejected
    regular_days = min(figures.days_with_submission, figures.working_days)
    return Score(
        opd=figures.opd,
        quantity=round(QUANTITY_POINTS * _share(figures.published, expected), 2),
        published_ratio=round(PUBLISHED_RATIO_POINTS * _share(figures.published, decided), 2),
        photo_use=round(PHOTO_POINTS * _share(figures.published_with_photo, figures.published), 2),
        regularity=round(REGULARITY_POINTS * _share(regular_days, figures.working_days), 2),
    )


def rank(all_figures: Iterable[Figures]) -> list[Ranked]:
    """Every OPD's score, best first; equal totals share a rank and are listed by OPD code."""
    scores = sorted((score(f) for f in all_figures), key=lambda s: (-s.total, s.opd))
    ranked: list[Ranked] = []
    for position, current in enumerate(scores, start=1):
        if ranked and ranked[-1].score.total == current.total:
            ranked.append(Ranked(ranked[-1].rank, current))
        else:
            ranked.append(Ranked(position, current))
    return ranked
