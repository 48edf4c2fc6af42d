"""Reports the lake reads a request made in ``extensions.lakeReads``: a client (and a test)
can see that a query's cost does not grow with the number of objects it returns."""
from __future__ import annotations

from typing import Any

from strawberry.extensions import SchemaExtension


class LakeReads(SchemaExtension):
    def get_results(self) -> dict[str, Any]:
        context = self.execution_context.context
        reads = getattr(context, "reads", None)
        return {"lakeReads": reads.total} if reads is not None else {}
