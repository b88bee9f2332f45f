"""Pretrained word vectors, read from the installed package: what a message means beyond the corpus's words.

WordLlama (MIT) ships its 256-dimension vectors and its tokenizer inside its wheel, but its
loader looks for them in the wrong folder and then downloads. triage reads the two files
straight from the installed package instead (safetensors and tokenizers, WordLlama's own
dependencies): never a request to the network, and none of the 27 MB the rest of WordLlama's
modules cost a process. A missing file is an error. The classifier averages them
(`MeanWordVectors`); the answer bank weights each word by its rarity first (`RareWordVectors`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.base import BaseEstimator, TransformerMixin

from triage.errors import ModelError

PACKAGE = "wordllama"
WEIGHTS = "weights/l2_supercat_256.safetensors"  # LLaMA 2 vocabulary, 32,000 tokens x 256
TOKENIZER = "tokenizers/l2_supercat_tokenizer_config.json"
DIMENSIONS = 256


@dataclass(frozen=True)
class WordVectors:
    tokenizer: Any  # tokenizers.Tokenizer
    vectors: np.ndarray[Any, np.dtype[np.float32]]  # one row per token id


@lru_cache(maxsize=1)
def word_vectors() -> WordVectors:
    """The vectors and tokenizer from the installed package's own files; loaded once per process."""
    from safetensors import safe_open
    from tokenizers import Tokenizer

    spec = find_spec(PACKAGE)  # finds the folder without importing the package
    folder = Path(next(iter(spec.submodule_search_locations or []), "")) if spec else None
    if folder is None or not (folder / WEIGHTS).is_file() or not (folder / TOKENIZER).is_file():
        raise ModelError(f"{PACKAGE}/{WEIGHTS}", f"missing: reinstall triage (pip install {PACKAGE})")
    with safe_open(str(folder / WEIGHTS), framework="np") as weights:
        vectors = np.asarray(weights.get_tensor("embedding.weight"), dtype=np.float32)
    return WordVectors(Tokenizer.from_file(str(folder / TOKENIZER)), vectors)


def token_counts(texts: Iterable[str]) -> csr_matrix:
    """Texts x vocabulary: how often each token occurs in each text.

    Times the vectors it gives each text's summed token vector (the direction of the mean that
    WordLlama's embed() gives) without its padded texts x longest x 256 block."""
    model = word_vectors()
    encodings = model.tokenizer.encode_batch(list(texts), add_special_tokens=False)
    ids = [np.asarray(e.ids, dtype=np.int64)[np.asarray(e.attention_mask, dtype=bool)] for e in encodings]
    lengths = np.fromiter((len(i) for i in ids), dtype=np.int64, count=len(ids))
    indptr = np.concatenate(([0], np.cumsum(lengths)))
    vocabulary = model.vectors.shape[0]
    indices = np.clip(np.concatenate(ids) if ids else np.empty(0, np.int64), 0, vocabulary - 1)
    return csr_matrix((np.ones(len(indices), np.float32), indices, indptr), shape=(len(ids), vocabulary))


def unit_rows(vectors: np.ndarray[Any, np.dtype[np.float32]]) -> np.ndarray[Any, np.dtype[np.float32]]:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.asarray(vectors / np.maximum(norms, 1e-9), dtype=np.float32)


class MeanWordVectors(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Text -> the mean of its word vectors, unit length, times `weight`.

    `weight` sets how much the meaning counts beside the n-gram features (whose rows have
    unit length too). Nothing is learned in `fit`; the model file stores only `weight`.
    """

    def __init__(self, weight: float = 1.0) -> None:
        self.weight = weight

    def fit(self, texts: Iterable[str], labels: object = None) -> MeanWordVectors:
        return self

    def transform(self, texts: Iterable[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
        vectors = np.asarray(token_counts(texts) @ word_vectors().vectors, dtype=np.float32)
        return unit_rows(vectors) * np.float32(self.weight)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray[Any, np.dtype[Any]]:
        return np.array([f"meaning{i}" for i in range(DIMENSIONS)], dtype=object)


class RareWordVectors:
    """Text -> its word vectors averaged, each token weighted by how rare it is among the texts
    fitted on (inverse document frequency), unit length: the answer bank's representation
    (`replies.retrieval.Representation`). "my", "how" and "order" say little about which answer
    a question needs; "deposit" or "VAT" say a lot. Tokens never seen in `fit` weigh the most."""

    def __init__(self) -> None:
        self.idf: np.ndarray[Any, np.dtype[np.float32]] | None = None

    def fit(self, texts: Sequence[str]) -> None:
        counts = token_counts(texts)
        counts.sum_duplicates()
        documents = np.bincount(counts.indices, minlength=counts.shape[1])  # each token once per text
        self.idf = np.asarray(np.log((1 + len(texts)) / (1 + documents)) + 1, dtype=np.float32)

    def transform(self, texts: Sequence[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
        if self.idf is None:
            raise ValueError("RareWordVectors.transform before fit")
        weighted = token_counts(texts).multiply(self.idf).tocsr()
        return unit_rows(np.asarray(weighted @ word_vectors().vectors, dtype=np.float32))
