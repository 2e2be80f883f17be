"""An image order from start to finish: resolve the model, fetch the inputs, generate.

The API hands over an :class:`ImageOrder` (plain values); this module applies the catalogue,
checks the model is an image model, resolves inputs for the owner and runs the generation.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from gateway.catalog import Catalog
from gateway.domain import GenerationSpec, Kind
from gateway.errors import InvalidRequestError
from gateway.service.generation import ImageJob, ImageResult, ImageService
from gateway.service.inputs import ImageSource, InputResolver


@dataclass(frozen=True, slots=True)
class ImageOrder:
    """What a client ordered, as plain values."""

    model: str
    prompt: str
    owner: str
    n: int = 1
    size: str | None = None
    quality: str | None = None
    sources: tuple[ImageSource, ...] = ()
    groups: tuple[str, ...] = ()
    priority: int = 0  # the licence's, for waiting on a busy pool


class ImageRequests:
    """Runs image orders."""

    def __init__(self, *, catalog: Catalog, resolver: InputResolver, generator: ImageService) -> None:
        self._catalog = catalog
        self._resolver = resolver
        self._generator = generator

    def resolve(self, order: ImageOrder) -> GenerationSpec:
        """The order's spec, or the 400 that explains why not (no I/O)."""
        spec = self._catalog.resolve(order.model, size=order.size, quality=order.quality, groups=order.groups)
        if spec.kind is not Kind.IMAGE:
            raise InvalidRequestError(
                f"{spec.model} is a video model; use /v1/videos or /v1/chat/completions", param="model"
            )
        return spec

    async def run(self, order: ImageOrder, *, departed: asyncio.Event | None = None) -> list[ImageResult]:
        """Generate the order's images; raises ``GatewayError`` subclasses only. ``departed`` is set
        when the client leaves: nothing is dispatched or retried for it from then on."""
        spec = self.resolve(order)
        inputs = await asyncio.gather(*(self._resolver.resolve(s, owner=order.owner) for s in order.sources))
        job = ImageJob(
            spec, order.prompt, order.owner, tuple(inputs), frozenset(spec.groups), departed, order.priority
        )
        return await self._generator.generate(job, n=order.n)
