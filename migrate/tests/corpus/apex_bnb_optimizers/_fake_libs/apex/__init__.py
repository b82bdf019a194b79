"""A CPU stand-in for apex in the corpus."""
