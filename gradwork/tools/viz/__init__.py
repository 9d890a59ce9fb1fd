"""Pictures of training (matplotlib, Agg backend: files, never windows)."""
from gradwork.tools.viz.learning_curves import plot_history
from gradwork.tools.viz.embeddings import plot_tsne, tsne
from gradwork.tools.viz.attention import plot_attention
