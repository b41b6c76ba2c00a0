"""Instructors' solutions to the notebook exercises (one module per notebook)."""
