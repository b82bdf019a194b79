"""A CPU stand-in for xformers in the corpus."""
