"""The data format of exports: JSON with NumPy arrays spelled out, never pickles.

This module is small and imports only NumPy, so that the verifier starts quickly.
"""

from __future__ import annotations

import numpy as np

#: The largest export file the verifier reads, in bytes.
MAX_EXPORT_BYTES = 64 * 1024**2


def encode_array(array: np.ndarray) -> dict:
    """Encode a NumPy array as JSON-ready data (no pickling)."""
    return {"__array__": array.tolist(), "dtype": str(array.dtype), "shape": list(array.shape)}


def decode(value):
    """Decode JSON data written by the export cell back into Python and NumPy values."""
    if isinstance(value, dict):
        if "__array__" in value:
            dtype = np.dtype(value["dtype"])
            if dtype.hasobject:
                raise ValueError("object arrays are not accepted")
            return np.asarray(value["__array__"], dtype=dtype).reshape(value["shape"])
        return {key: decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [decode(item) for item in value]
    return value
