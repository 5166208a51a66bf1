"""Smaller bootstrap and Monte Carlo sizes for tests that check what a run publishes, not the
width of its intervals (the pipeline test, which checks estimates against the simulated truth,
keeps the notebooks' defaults)."""

QUICK_PARAMS = {
    "bootstrap_resamples": 200,
    "excess_draws": 5000,
    "draws": 2000,
    "psa_draws": 200,
}
