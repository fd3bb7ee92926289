"""Training of the learned reader (`rag train`): examples, fitting, calibration, model card."""
