"""Online behavioural anomaly detection: per-user baselines plus one shared River model."""
