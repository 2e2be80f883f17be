"""The admin API (``/admin/...``): accounts and workers, behind the admin key, never under ``/v1``."""
