"""OrleansShards client: jobs, leases, topics and training runs over the HTTP API.

The core needs only the standard library. ``orleans_shards.torch`` holds the PyTorch datasets
(``LeaseDataset``, ``RunDataset``) and imports torch; Arrow pages need pyarrow. The package logs
through the ``orleans_shards`` logger and never writes to stdout.
"""

from ._version import __version__
from .client import Client, RecordPage, TopicRecord, load_document
from .errors import ShardsError
from .leases import LeasedTask, LeaseWorker, default_worker_id
from .runs import Run, Step

__all__ = [
    "Client",
    "LeaseWorker",
    "LeasedTask",
    "RecordPage",
    "Run",
    "ShardsError",
    "Step",
    "TopicRecord",
    "__version__",
    "default_worker_id",
    "load_document",
]
