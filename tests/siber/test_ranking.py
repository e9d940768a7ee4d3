"""The score formula and the ranking: pure arithmetic, checked against hand-worked figures."""

import pytest

from services.siber.ranking import Figures, rank, score


def figures(opd="dinkes", **overrides):
    values = dict(working_days=5, days_with_submission=5, submitted=5, published=5, rejected=0,
                  published_with_photo=5, per_day=1)
    values.update(overrides)
    return Figures(opd=opd, **values)


def test_an_opd_that_meets_every_rule_scores_one_hundred():
    result = score(figures())
    assert (result.quantity, result.published_ratio, result.photo_use, result.regularity) == (
        40, 20, 10, 30)
    assert result.total == 100


def test_a_silent_opd_scores_zero():
    assert score(figures(days_with_submission=0, submitted=0, published=0,
                         published_with_photo=0)).total == 0


def test_hand_worked_partial_week():
    # 3 of 5 days submitted, 4 submitted, 2 published, 1 rejected, 1 published with a photo.
    result = score(figures(days_with_submission=3, submitted=4, published=2, rejected=1,
                           published_with_photo=1))
    assert result.quantity == 16.0          # 40 * 2/5
    assert result.published_ratio == 13.33  # 20 * 2/3
    assert result.photo_use == 5.0          # 10 * 1/2
    assert result.regularity == 18.0        # 30 * 3/5
    assert result.total == 52.33


def test_a_flood_on_one_day_does_not_buy_regularity_or_more_than_the_quota():
    result = score(figures(days_with_submission=1, submitted=12, published=12,
                           published_with_photo=12))
    assert result.quantity == 40
    assert result.regularity == 6


def test_quota_above_one_expects_more():
    assert score(figures(per_day=2)).quantity == 20


def test_a_period_without_working_days_scores_nothing_for_quantity_and_regularity():
    result = score(figures(working_days=0, days_with_submission=1, published=1,
                           published_with_photo=0, submitted=1))
    assert result.quantity == 0 and result.regularity == 0
    assert result.published_ratio == 20


def test_equal_scores_share_a_rank_and_the_next_rank_is_skipped():
    ranked = rank([
        figures("disdik", published=0, published_with_photo=0, days_with_submission=0),
        figures("dinkes"),
        figures("bappeda"),
        figures("dpupr", days_with_submission=4),
    ])
    assert [(r.rank, r.score.opd) for r in ranked] == [
        (1, "bappeda"), (1, "dinkes"), (3, "dpupr"), (4, "disdik")]


@pytest.mark.parametrize("bad", [dict(submitted=-1), dict(per_day=0),
                                 dict(published=1, published_with_photo=2)])
def test_impossible_figures_are_refused(bad):
    with pytest.raises(ValueError):
        figures(**bad)
