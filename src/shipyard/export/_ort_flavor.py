"""The ``ort`` model flavor: ONNX Runtime Mobile's ``.ort`` format, run with ONNX Runtime.

Registered on the registry's flavor table when :mod:`shipyard.export` is imported. It is
never picked by detection (``.ort`` files are bytes, not objects): export registers
``.ort`` versions with ``flavor="ort"``. ONNX Runtime loads ``.ort`` bytes the way it
loads ONNX graphs, so loading, feeding and signatures are the ONNX flavor's; only what is
accepted and recorded at save time differs.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..core import InvalidInput
from ..registry import OnnxFlavor


class OrtFlavor(OnnxFlavor):
    name = "ort"
    modules: ClassVar[tuple[str, ...]] = ()

    def matches(self, model: Any) -> bool:
        return False

    def to_bytes(self, model: Any) -> bytes:
        if not isinstance(model, (bytes, bytearray)):
            raise InvalidInput("the ort flavor stores .ort bytes; pass the file's bytes")
        return bytes(model)

    def extra_meta(self, data: bytes) -> dict[str, Any]:
        return {"format": "ort"}
