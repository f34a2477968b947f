"""torch_geometric, imported once for the whole package without the warning its own import raises.

PyG scripts a few helpers with `torch.jit.script` at import time, which torch now marks as
deprecated (FutureWarning). It is about PyG's internals, not about anything a user of this
project can change, so exactly that message is ignored during the import and nowhere else.
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is deprecated", category=FutureWarning)
    from torch_geometric.data import HeteroData

__all__ = ["HeteroData"]
