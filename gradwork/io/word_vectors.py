"""Word vectors on disk: a folder with ``vectors.safetensors`` (the (V, dim) array under "vectors")
and ``vocabulary.json`` (the words in row order, with their corpus counts). The vectors load
anywhere safetensors does; the vocabulary is plain JSON."""
import json
import os

from safetensors.numpy import load_file
from safetensors.numpy import save as safetensors_bytes

from gradwork import _files
from gradwork.backend import xp
from gradwork.errors import CheckpointError
from gradwork.models.word2vec import Word2Vec

VECTORS, VOCABULARY = "vectors.safetensors", "vocabulary.json"


def save_word_vectors(model, folder, counts=None):
    """Write ``model``'s input vectors and vocabulary into ``folder`` (created if needed)."""
    os.makedirs(folder, exist_ok=True)
    _files.write_bytes(os.path.join(folder, VECTORS),
                       safetensors_bytes({"vectors": xp.ascontiguousarray(model.vectors(normalized=False))},
                                         metadata={"mode": model.mode}))
    vocabulary = {"words": model.words}
    if counts is not None:
        vocabulary["counts"] = [int(c) for c in counts]
    _files.write_json(os.path.join(folder, VOCABULARY), vocabulary)


def load_word_vectors(folder):
    """A ``Word2Vec`` holding the vectors saved in ``folder``, ready for ``most_similar`` and ``analogy``."""
    paths = [os.path.join(folder, name) for name in (VECTORS, VOCABULARY)]
    for path in paths:
        if not os.path.isfile(path):
            raise CheckpointError(f"{path} is missing: {folder} is not a folder written by `gradwork word2vec`")
    try:
        vectors = load_file(paths[0])["vectors"]
        with open(paths[1]) as f:
            words = json.load(f)["words"]
    except Exception as error:  # safetensors reports truncation and corruption with several error types
        raise CheckpointError(f"cannot read the word vectors in {folder}: {error}") from None
    if vectors.ndim != 2 or len(words) != len(vectors):
        raise CheckpointError(f"{folder}: {len(words)} words but vectors of shape {vectors.shape}; the files "
                              "do not belong together")
    model = Word2Vec(words, vectors.shape[1])
    model.in_embed.weight.data[...] = vectors
    return model
