"""A CPU stand-in for bitsandbytes in the corpus: its Adam family with 32-bit state
(bitsandbytes' Adam and AdamW share one update with decoupled weight decay)."""
from . import optim  # noqa: F401
