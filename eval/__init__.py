"""Evaluation sets written by hand (questions and gold references only; the official data stays in ../shared)."""
