from pipeline.cli import main


def test_eval_ml_prints_the_figures(capsys) -> None:
    assert main(["eval", "--ml", "--users", "12", "--days", "7", "--seed", "5"]) == 0
    out = capsys.readouterr().out
    assert "ROC-AUC" in out and "PR-AUC" in out
    assert "false ML alerts per 100,000 benign events" in out
    assert "off_hours_bulk_reads" in out


def test_eval_without_ml_scores_the_rule_detectors(capsys) -> None:
    assert main(["eval", "--users", "20", "--hours", "1"]) == 0
    out = capsys.readouterr().out
    assert "PRECISION" in out and "failed_login_burst" in out
    assert "behaviour_anomaly" not in out
