"""``CharRNN``: a character-level language model, embedding → LSTM (or GRU) → linear.

Given characters c₁ … c_t it predicts a distribution over c_{t+1}. Trained with truncated
back-propagation through time (``gradwork.train.fit_language_model``) and sampled one character at
a time with ``generate``.
"""
from gradwork import backend
from gradwork.autograd.tensor import Tensor
from gradwork.backend import xp
from gradwork.errors import ConfigError
from gradwork.nn.embedding import Embedding
from gradwork.nn.linear import Linear
from gradwork.nn.module import Module
from gradwork.nn.recurrent import GRU, LSTM, RNN

CELLS = {"lstm": LSTM, "gru": GRU, "rnn": RNN}


class CharRNN(Module):
    """ids (B, T) → logits (B, T, vocab_size), and the recurrent state to carry to the next chunk.

    Sub-modules: ``embedding`` Embedding(vocab_size, embedding_dim), ``rnn`` LSTM/GRU/RNN(embedding_dim,
    hidden_size, num_layers, batch_first=True, dropout between layers), ``head`` Linear(hidden_size,
    vocab_size).
    """

    def __init__(self, vocab_size, embedding_dim=64, hidden_size=256, num_layers=1, cell="lstm", dropout=0.0):
        super().__init__()
        if cell not in CELLS:
            raise ConfigError(f"CharRNN: cell must be one of {', '.join(CELLS)}, got {cell!r}")
        self.vocab_size, self.cell = vocab_size, cell
        self.embedding = Embedding(vocab_size, embedding_dim)
        self.rnn = CELLS[cell](embedding_dim, hidden_size, num_layers, batch_first=True,
                               dropout=dropout if num_layers > 1 else 0.0)
        self.head = Linear(hidden_size, vocab_size)

    def forward(self, ids, state=None):
        output, state = self.rnn(self.embedding(ids), state)
        return self.head(output), state

    def generate(self, prime_ids, length, temperature=1.0):
        """Sample ``length`` ids after the prime ids (1-D, at least one), drawing each next character
        from softmax(logits / temperature): below 1 is safer and more repetitive, above 1 wilder."""
        if not temperature > 0:
            raise ConfigError(f"temperature must be positive, got {temperature}")
        prime_ids = xp.asarray(prime_ids, dtype=xp.int64)
        if prime_ids.ndim != 1 or len(prime_ids) == 0:
            raise ConfigError("generate: give at least one prime character to start from")
        rng, out = backend.rng(), []
        with self.evaluating():
            logits, state = self(Tensor(prime_ids[None, :]))
            for _ in range(length):
                z = logits.data[0, -1].astype(xp.float64) / temperature
                p = xp.exp(z - z.max())
                next_id = int(rng.choice(len(p), p=p / p.sum()))
                out.append(next_id)
                logits, state = self(Tensor(xp.array([[next_id]])), state)
        return xp.array(out, dtype=xp.int64)
