"""Retrieve → quantities → answer: grounded, numeric answers with citations."""
