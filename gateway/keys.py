"""Every typed application and request key, in one place.

Values are read as ``request.app[keys.POOL]`` and ``request[keys.REQUEST_ID]``; string keys are
never used. Application keys carry a ``gateway.`` prefix in their names.
"""

from __future__ import annotations

from aiohttp import web

from gateway.captcha.health import TrackedTokens
from gateway.catalog import Catalog
from gateway.config import Settings
from gateway.licensing import Licence, LicenceRegistry
from gateway.media.signing import UrlSigner
from gateway.media.storage import MediaStore
from gateway.obs import tally
from gateway.obs.metrics import GatewayMetrics
from gateway.pool.pool import AccountPool
from gateway.service.account_registry import AccountRegistry
from gateway.service.audit import AuditTrail
from gateway.service.availability import ModelAvailability
from gateway.service.chat import ChatRequests
from gateway.service.doctor import Doctor
from gateway.service.image_tasks import ImageTasks
from gateway.service.images import ImageRequests
from gateway.service.leftovers import Leftovers
from gateway.service.licence_book import LicenceBook
from gateway.service.quota.quota import Quota
from gateway.service.tasks import TaskEngine
from gateway.service.video_followups import VideoFollowUps
from gateway.service.videos import VideoRequests
from gateway.service.webhooks import Webhooks
from gateway.service.worker_enrolment import WorkerEnrolments
from gateway.store.base import Store
from gateway.upstream.flow.canary import ShapeCanary
from gateway.upstream.flow.workers import WorkerHub

SETTINGS = web.AppKey("gateway.settings", Settings)
METRICS = web.AppKey("gateway.metrics", GatewayMetrics)
CATALOG = web.AppKey("gateway.catalog", Catalog)
POOL = web.AppKey("gateway.pool", AccountPool)
STORE = web.AppKey("gateway.store", Store)
MEDIA = web.AppKey("gateway.media", MediaStore)
SIGNER = web.AppKey("gateway.signer", UrlSigner)
IMAGES = web.AppKey("gateway.images", ImageRequests)
TASKS = web.AppKey("gateway.tasks", TaskEngine)
CHAT = web.AppKey("gateway.chat", ChatRequests)
VIDEOS = web.AppKey("gateway.videos", VideoRequests)
VIDEO_FOLLOWUPS = web.AppKey("gateway.video_followups", VideoFollowUps)  # remix, extensions, edits
IMAGE_TASKS = web.AppKey("gateway.image_tasks", ImageTasks)
WORKERS = web.AppKey("gateway.workers", WorkerHub)
ACCOUNTS = web.AppKey("gateway.accounts", AccountRegistry)
CANARY = web.AppKey("gateway.canary", ShapeCanary)
DOCTOR = web.AppKey("gateway.doctor", Doctor)
AVAILABILITY = web.AppKey("gateway.availability", ModelAvailability)
LEFTOVERS = web.AppKey("gateway.leftovers", Leftovers)
QUOTA = web.AppKey("gateway.quota", Quota)
WEBHOOKS = web.AppKey("gateway.webhooks", Webhooks)
LICENCES = web.AppKey("gateway.licences", LicenceRegistry)  # the live view requests authenticate against
LICENCE_BOOK = web.AppKey("gateway.licence_book", LicenceBook)  # changes (admin API), audited
ENROLMENTS = web.AppKey("gateway.enrolments", WorkerEnrolments)  # browser workers' one-time tokens
AUDIT = web.AppKey("gateway.audit", AuditTrail)  # as the admin API
SOLVER = web.AppKey("gateway.solver", TrackedTokens)

# Request-scoped values set by the middleware.
TALLY = tally.TALLY
REQUEST_ID = web.RequestKey("gateway.request_id", str)
LICENCE = web.RequestKey("gateway.licence", Licence)
