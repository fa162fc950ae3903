"""The optional PD model beside the rules: spec, features, training, calibration, explanations,
registry. Heavy libraries (lightgbm, mlflow, shap) are imported inside functions."""
