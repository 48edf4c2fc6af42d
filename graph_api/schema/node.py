"""The Node interface: every object with a lake-generated id, fetchable by ``node(id)``."""
import strawberry


@strawberry.interface
class Node:
    id: strawberry.ID
