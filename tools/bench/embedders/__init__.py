"""Embedders and Japanese recall: each bundled-weight embedder and keyword tokenizer, measured."""
