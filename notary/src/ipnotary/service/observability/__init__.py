"""What an operator sees of a running service: its log lines and its Prometheus metrics.

- :mod:`ipnotary.service.observability.logs`: logging configured once per process (``notary serve``
  and each uvicorn worker), JSON lines or text, the request id of the request being served, and the
  :func:`~notary.observability.logs.event` fields the service's own messages carry.
- :mod:`ipnotary.service.observability.metrics`: the instruments the service updates, and the
exposition
  ``GET /metrics`` serves (``ipnotary.service.api.routes.metrics``), across uvicorn workers too.

``docs/deployment.md`` (*Logs, metrics and alerts*) lists the events, the metric names and the
alerts to set on them.
"""
