"""All SQL lives here: one module per entity, plain functions over a Connection.

``Database`` owns the engine; callers open one transaction with ``db.begin()`` and pass the
connection to the entity functions, so a unit of work (a feed poll and the articles it found)
commits or rolls back as one.
"""

from broadsheet.storage.database import Database

__all__ = ["Database"]
