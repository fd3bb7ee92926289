"""Public QA datasets: their roles (which set trains, validates, tests) and their readers."""
