"""The media graph over HTTP: Starlette on uvicorn.

    app.py          the app: routes, the /graphql endpoint, /healthz, /metrics, /favicon.ico; what a server holds
    protocol.py     GraphQL over HTTP: request parameters, media types, status codes
    persisted.py    persisted queries: Apollo's APQ and an allow-list
    graphiql.py     the GraphiQL page
    examples.py     the example operations GraphiQL opens as tabs (one per mutation)
    lineage_api.py  the OpenLineage endpoint, /api/v1/lineage
    metrics.py      Prometheus metrics
    logs.py         JSON logs and the request-id middleware
    tracing.py      optional OpenTelemetry spans
    errors.py       HTTPError, the one error type of this layer

``mediagraph serve`` runs ``app.create_app`` (``app.app_from_env`` in each of ``--workers N``).
"""
