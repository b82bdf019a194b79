"""Helpers shared by the inference script, the demo and the trainer."""
