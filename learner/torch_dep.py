"""torch, imported where it is first needed: it is an optional extra (`pip install 'amp-data[learn]'`), so the
data commands run without it and the learner's commands stop with one line when it is missing."""

from __future__ import annotations

from amp_data.errors import InputError


def require_torch():
    """The torch module, or InputError saying how to install it."""
    try:
        import torch
    except ImportError:
        raise InputError(None, "training needs PyTorch: pip install 'amp-data[learn]' (or torch>=2.2)") from None
    return torch
