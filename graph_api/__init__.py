"""Media Graph: a GraphQL API over a media data lake in LanceDB."""
import os

# Lance logs "no existing dataset, it will be created" warnings for every new table; keep stderr for real problems
os.environ.setdefault("LANCE_LOG", "error")
