"""Measuring the answerer (`rag eval`): the bundled test set, the scorer, the runner and the gates."""
