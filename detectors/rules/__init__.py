"""Rule detectors: one module per detector, named as its config key."""
