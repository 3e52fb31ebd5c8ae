"""Seeded, composable data augmentation for images and text.

Every transform is a callable ``t(x, rng)`` where *rng* is a ``numpy.random.Generator``
or a seed; the same seed gives the same output. Compose with :class:`Compose` or ``|``::

    from shipyard.data import augment as A
    t = A.HorizontalFlip() | A.Rotate(15) | A.GaussianNoise(0.05)
    out = t(image, rng=0)

Images are numpy arrays ``(H, W)`` or ``(H, W, C)`` (any numeric dtype; the output keeps
the dtype and value range) or image files through :func:`augment_image_file`. Text
transforms work on whitespace-separated words or characters.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core import InvalidInput

__all__ = [
    "Brightness",
    "Compose",
    "GaussianNoise",
    "HorizontalFlip",
    "ImageTransform",
    "RandomCrop",
    "RandomDeletion",
    "RandomInsertion",
    "RandomSwap",
    "Rotate",
    "Shift",
    "TextTransform",
    "Transform",
    "Typo",
    "VerticalFlip",
    "augment_image_file",
]


def _rng(rng: Any) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


class Transform:
    """Base class: ``__call__(x, rng)``; ``a | b`` composes."""

    kind = "any"

    def __call__(self, x: Any, rng: Any = None) -> Any:
        return self.apply(x, _rng(rng))

    def apply(self, x: Any, rng: np.random.Generator) -> Any:  # pragma: no cover
        raise NotImplementedError

    def __or__(self, other: Transform) -> Compose:
        return Compose([self, other])


class Compose(Transform):
    """Apply transforms in order, sharing one random generator."""

    def __init__(self, transforms: Sequence[Transform]) -> None:
        flat: list[Transform] = []
        for t in transforms:
            if not isinstance(t, Transform):
                raise InvalidInput(f"cannot compose {t!r}: not a shipyard.data.augment transform")
            flat.extend(t.transforms if isinstance(t, Compose) else [t])
        kinds = {t.kind for t in flat} - {"any"}
        if len(kinds) > 1:
            raise InvalidInput("cannot compose image and text transforms in one pipeline")
        self.transforms: list[Transform] = flat
        self.kind = kinds.pop() if kinds else "any"

    def apply(self, x: Any, rng: np.random.Generator) -> Any:
        for t in self.transforms:
            x = t.apply(x, rng)
        return x

    def __repr__(self) -> str:
        return " | ".join(repr(t) for t in self.transforms)


# ------------------------------------------------------------------------------ images
class ImageTransform(Transform):
    kind = "image"

    def __call__(self, x: Any, rng: Any = None) -> Any:
        arr = np.asarray(x)
        if arr.ndim not in (2, 3):
            raise InvalidInput(
                f"{type(self).__name__} expects an image array (H, W) or (H, W, C), "
                f"got shape {arr.shape}"
            )
        return self.apply(arr, _rng(rng))


def _restore(out: np.ndarray, like: np.ndarray) -> np.ndarray:
    if np.issubdtype(like.dtype, np.integer):
        info = np.iinfo(like.dtype)
        return np.clip(np.rint(out), info.min, info.max).astype(like.dtype)
    return out.astype(like.dtype, copy=False)


def _value_range(img: np.ndarray) -> float:
    if np.issubdtype(img.dtype, np.integer):
        return float(np.iinfo(img.dtype).max) if img.dtype == np.uint8 else float(img.max() or 1)
    hi = float(np.max(img)) if img.size else 1.0
    return 1.0 if hi <= 1.0 else hi


@dataclass
class HorizontalFlip(ImageTransform):
    p: float = 0.5

    def apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return x[:, ::-1].copy() if rng.random() < self.p else x


@dataclass
class VerticalFlip(ImageTransform):
    p: float = 0.5

    def apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return x[::-1].copy() if rng.random() < self.p else x


@dataclass
class Rotate(ImageTransform):
    """Rotate by a uniform angle in [-max_degrees, max_degrees]; corners filled with 0."""

    max_degrees: float = 15.0

    def apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        from scipy import ndimage

        angle = rng.uniform(-self.max_degrees, self.max_degrees)
        out = ndimage.rotate(
            x.astype(np.float64), angle, axes=(1, 0), reshape=False, order=1, mode="constant"
        )
        return _restore(out, x)


@dataclass
class Shift(ImageTransform):
    """Translate by up to *max_fraction* of the height/width; vacated pixels are 0."""

    max_fraction: float = 0.1

    def apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        h, w = x.shape[:2]
        dy = int(rng.integers(-int(h * self.max_fraction), int(h * self.max_fraction) + 1))
        dx = int(rng.integers(-int(w * self.max_fraction), int(w * self.max_fraction) + 1))
        out = np.zeros_like(x)
        ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
        xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
        out[yd, xd] = x[ys, xs]
        return out


@dataclass
class RandomCrop(ImageTransform):
    """Crop a random window of *scale* x the size, resized back to the original size."""

    scale: float = 0.8

    def apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        from scipy import ndimage

        if not 0 < self.scale <= 1:
            raise InvalidInput(f"RandomCrop scale must be in (0, 1], got {self.scale}")
        h, w = x.shape[:2]
        ch, cw = max(1, round(h * self.scale)), max(1, round(w * self.scale))
        y0 = int(rng.integers(0, h - ch + 1))
        x0 = int(rng.integers(0, w - cw + 1))
        crop = x[y0 : y0 + ch, x0 : x0 + cw].astype(np.float64)
        zoom = (h / ch, w / cw) + ((1,) if x.ndim == 3 else ())
        out = ndimage.zoom(crop, zoom, order=1)[:h, :w]
        return _restore(out, x)


@dataclass
class GaussianNoise(ImageTransform):
    """Add N(0, (std x value range)^2) noise."""

    std: float = 0.05

    def apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        scale = self.std * _value_range(x)
        out = x.astype(np.float64) + rng.normal(0, scale, x.shape)
        if np.issubdtype(x.dtype, np.integer):
            out = np.clip(out, 0, None)
        return _restore(out, x)


@dataclass
class Brightness(ImageTransform):
    """Multiply by a uniform factor in [1 - max_delta, 1 + max_delta]."""

    max_delta: float = 0.2

    def apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        f = rng.uniform(1 - self.max_delta, 1 + self.max_delta)
        return _restore(x.astype(np.float64) * f, x)


def augment_image_file(src: Any, dest: Any, transform: Transform, rng: Any = None) -> None:
    """Read an image file with Pillow, transform it, write it in the same format."""
    from PIL import Image

    with Image.open(src) as im:
        fmt = im.format or "PNG"
        arr = np.asarray(im)
        mode = im.mode
    out = transform(arr, rng)
    Image.fromarray(np.asarray(out), mode=mode if mode in ("L", "RGB", "RGBA") else None).save(
        dest, format=fmt
    )


# ------------------------------------------------------------------------------ text
class TextTransform(Transform):
    kind = "text"

    def __call__(self, x: Any, rng: Any = None) -> Any:
        if not isinstance(x, str):
            raise InvalidInput(f"{type(self).__name__} expects a string, got {type(x).__name__}")
        return self.apply(x, _rng(rng))


@dataclass
class RandomDeletion(TextTransform):
    """Delete each word with probability *p* (never every word)."""

    p: float = 0.1

    def apply(self, x: str, rng: np.random.Generator) -> str:
        words = x.split()
        if len(words) <= 1:
            return x
        keep = [w for w in words if rng.random() >= self.p]
        return " ".join(keep or [words[int(rng.integers(len(words)))]])


@dataclass
class RandomSwap(TextTransform):
    """Swap two random words, *n* times."""

    n: int = 1

    def apply(self, x: str, rng: np.random.Generator) -> str:
        words = x.split()
        if len(words) < 2:
            return x
        for _ in range(self.n):
            i, j = rng.choice(len(words), 2, replace=False)
            words[i], words[j] = words[j], words[i]
        return " ".join(words)


@dataclass
class RandomInsertion(TextTransform):
    """Insert *n* copies of random words of the text at random positions."""

    n: int = 1

    def apply(self, x: str, rng: np.random.Generator) -> str:
        words = x.split()
        if not words:
            return x
        for _ in range(self.n):
            w = words[int(rng.integers(len(words)))]
            words.insert(int(rng.integers(len(words) + 1)), w)
        return " ".join(words)


_KEYS = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]
_NEAR: dict[str, str] = {}
for _r, _row in enumerate(_KEYS):
    for _i, _c in enumerate(_row):
        near = [_row[j] for j in (_i - 1, _i + 1) if 0 <= j < len(_row)]
        for rr in (_r - 1, _r + 1):
            if 0 <= rr < len(_KEYS) and _i < len(_KEYS[rr]):
                near.append(_KEYS[rr][_i])
        _NEAR[_c] = "".join(near)


@dataclass
class Typo(TextTransform):
    """Character noise: each letter, with probability *p*, is replaced by a neighbouring
    key, dropped, doubled or swapped with the next one."""

    p: float = 0.05

    def apply(self, x: str, rng: np.random.Generator) -> str:
        chars = list(x)
        out: list[str] = []
        i = 0
        while i < len(chars):
            c = chars[i]
            if c.isalpha() and rng.random() < self.p:
                op = int(rng.integers(4))
                lower = c.lower()
                if op == 0:
                    pool = _NEAR.get(lower) or string.ascii_lowercase
                    r = pool[int(rng.integers(len(pool)))]
                    out.append(r.upper() if c.isupper() else r)
                elif op == 1:
                    pass  # dropped
                elif op == 2:
                    out += [c, c]
                elif i + 1 < len(chars):
                    out += [chars[i + 1], c]
                    i += 1
                else:
                    out.append(c)
            else:
                out.append(c)
            i += 1
        return "".join(out)
