"""Rule governance and monitoring (issue 7): pure functions on rule sets and frames, no database.

- `diff`: what changed between two rule-set versions, as a committee officer reads it (zh/en).
- `backtest`: a candidate rule set against the current portfolio and recorded outcomes.
- `metrics`: AUC, KS, default rate by band (scikit-learn underneath).
- `monitoring`: population stability (PSI) of inputs and score against a reference window.
- `performance`: realised default rates by band and product over time; rules vs model vs blend.
- `overrides`: override reason codes and the report by officer and direction.

Nothing here imports SQLAlchemy, FastAPI or the store: the use cases (`parkcredit.app`) read the
frames from the store (`store.frames`) and call these functions.
"""
