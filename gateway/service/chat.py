"""Media through chat completions: a conversation becomes ``n`` tasks (videos or images), one per choice.

Each choice is its own durable task, so a client that disconnects loses nothing: the tasks finish
and stay retrievable (their ids are in the stream's first chunk). For image models, a follow-up
without an image of its own edits the newest image the conversation showed ("make it blue").
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.catalog import Catalog
from gateway.domain import Kind, TaskRecord
from gateway.service.image_tasks import ImageTasks
from gateway.service.images import ImageOrder
from gateway.service.inputs import ImageSource
from gateway.service.quota.gate import OPEN, Gate
from gateway.service.tasks import TaskEngine
from gateway.service.videos import VideoOrder, VideoRequests


@dataclass(frozen=True, slots=True)
class ChatOrder:
    """A chat request for media, as plain values."""

    model: str
    prompt: str
    owner: str
    n: int = 1
    sources: tuple[ImageSource, ...] = ()
    history_image: ImageSource | None = None
    groups: tuple[str, ...] = ()
    size: str | None = None
    seconds: str | int | None = None
    quality: str | None = None


class ChatRequests:
    """Starts the tasks of a chat request."""

    def __init__(
        self, *, catalog: Catalog, videos: VideoRequests, images: ImageTasks, engine: TaskEngine
    ) -> None:
        self._catalog = catalog
        self._videos = videos
        self._images = images
        self._engine = engine

    def kind_of(self, order: ChatOrder) -> Kind:
        """Image or video (a 404 for an unknown model, a 400 for a bad parameter, before anything starts)."""
        return self._catalog.resolve(
            order.model, size=order.size, quality=order.quality, groups=order.groups
        ).kind

    async def start(self, order: ChatOrder, *, gate: Gate = OPEN) -> list[TaskRecord]:
        """``n`` queued tasks, admitted together by the licence's ``gate``; the inputs are fetched and
        kept once for all of them."""
        if self.kind_of(order) is Kind.VIDEO:
            video = VideoOrder(
                model=order.model,
                prompt=order.prompt,
                owner=order.owner,
                seconds=order.seconds,
                size=order.size,
                quality=order.quality,
                sources=order.sources,
                groups=order.groups,
            )
            return await self._videos.create_many(video, copies=order.n, gate=gate)
        sources = order.sources or ((order.history_image,) if order.history_image else ())
        image = ImageOrder(
            model=order.model,
            prompt=order.prompt,
            owner=order.owner,
            n=1,
            size=order.size,
            quality=order.quality,
            sources=sources,
            groups=order.groups,
        )
        return await self._images.create_many(self._engine, image, copies=order.n, gate=gate)
