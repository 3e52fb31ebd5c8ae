"""The model server (``sy.serving``): OIP v2, TF-Serving style and records endpoints,
adaptive batching, Prometheus metrics, prediction logging and zero-downtime swaps.

>>> app = sy.serving.create_server(ws, ["churn@champion"])   # an ASGI app
>>> sy.serving.serve(["churn@champion"], port=8080, workers=2)  # runs uvicorn
"""

from ._batcher import BatchConfig, Overloaded
from ._deployments import Deployment, Deployments
from ._metrics import ServerMetrics
from ._package import package, pinned_requirements
from ._predlog import PredictionLogger
from ._run import serve
from ._server import ModelServer, create_server

__all__ = [
    "BatchConfig",
    "Deployment",
    "Deployments",
    "ModelServer",
    "Overloaded",
    "PredictionLogger",
    "ServerMetrics",
    "create_server",
    "package",
    "pinned_requirements",
    "serve",
]
