"""Looking inside trained models and runs: which inputs mattered (attribution.py), and how training went
(diagnostics.py, the callback; probe.py and unroll.py, the step-by-step diagnostic pass; verdicts.py; store.py,
diagnostics.jsonl)."""
