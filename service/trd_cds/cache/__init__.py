"""Result cache: the interface, Redis and in-process backends, canonical keys."""

from .base import CacheEvent, ResultCache
from .breaker import CircuitBreaker
from .feedback_store import FeedbackStore, MemoryFeedbackStore, RedisFeedbackStore
from .keys import patient_digest, result_key
from .memory import MemoryCache
from .redis_cache import RedisCache
from .single_flight import SingleFlightCache
from .tiered import TieredCache

__all__ = [
    "CacheEvent",
    "CircuitBreaker",
    "FeedbackStore",
    "MemoryCache",
    "MemoryFeedbackStore",
    "RedisCache",
    "RedisFeedbackStore",
    "ResultCache",
    "SingleFlightCache",
    "TieredCache",
    "patient_digest",
    "result_key",
]
