"""Training of the learned reader (`rag train`): data splits, examples, fitting, calibration, model card."""
