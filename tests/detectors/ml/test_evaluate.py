import pytest

from detectors.ml.evaluate import pr_auc, roc_auc


def test_roc_auc_perfect_and_inverted() -> None:
    assert roc_auc([0.1, 0.2, 0.8, 0.9], [False, False, True, True]) == 1.0
    assert roc_auc([0.9, 0.8, 0.2, 0.1], [False, False, True, True]) == 0.0


def test_roc_auc_ties_count_one_half() -> None:
    # Pairs (pos, neg): (0.5, 0.5) tie -> 0.5; (0.5, 0.1) win; (0.9, 0.5) win; (0.9, 0.1) win.
    assert roc_auc([0.1, 0.5, 0.5, 0.9], [False, False, True, True]) == pytest.approx(3.5 / 4)
    # All scores equal: every pair is a tie.
    assert roc_auc([0.3] * 5, [True, False, False, True, False]) == 0.5


def test_roc_auc_by_hand_unbalanced() -> None:
    # Positive 0.6 beats 0.2 and 0.4, loses to 0.7, ties 0.6: (2 + 0.5) / 4.
    scores = [0.2, 0.4, 0.6, 0.7, 0.6]
    labels = [False, False, False, False, True]
    assert roc_auc(scores, labels) == pytest.approx(2.5 / 4)


def test_pr_auc_by_hand() -> None:
    # Ranked: 0.9 T (P=1, R=1/2), 0.7 F, 0.4 T (P=2/3, R=1): AP = 1/2 * 1 + 1/2 * 2/3.
    assert pr_auc([0.4, 0.7, 0.9, 0.1], [True, False, True, False]) == pytest.approx(5 / 6)


def test_pr_auc_ties_form_one_step() -> None:
    # 0.8 holds one positive and one negative: one step of recall 1/2 at precision 1/2,
    # then 0.3 T: recall 1, precision 2/3.
    assert pr_auc([0.8, 0.8, 0.3], [True, False, True]) == pytest.approx(0.5 * 0.5 + 0.5 * 2 / 3)


def test_auc_needs_both_classes() -> None:
    with pytest.raises(ValueError):
        roc_auc([0.1, 0.2], [True, True])
    with pytest.raises(ValueError):
        pr_auc([0.1, 0.2], [False, False])
