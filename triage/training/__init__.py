"""Training: the shipped model from the corpus, and team models from corrections."""
