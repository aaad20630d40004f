"""Insert many rows of one model fast: the batch writer behind CSV import (``content.bulk``)
and the publishing engine's batch scheduling (``publishing.services.schedule_batch``)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from django.db import connections, models, router
from django.db.models import Model


class BulkRows:
    """``INSERT`` many rows of one model with ``executemany``, bypassing model instances.

    ``bulk_create`` builds a model instance per row and prepares every field of it in Python;
    for the 60,000-odd rows of a 10,000-post import that was most of the time (SQL was a
    tenth of it). Here the fields a row sets are given per row, already in their database
    form where that is plain (ids, text, numbers; datetimes are adapted), and every other
    column gets its model default once, from a prototype instance, so a field added to the
    model later with a default is still filled.
    """

    def __init__(self, model: type[Model], varying: list[str], **constant: object) -> None:
        self.connection = connections[router.db_for_write(model)]
        prototype = model(**constant)
        fields = [
            f for f in model._meta.concrete_fields if not f.primary_key or f.attname in varying
        ]
        self.model = model
        self.fields = fields
        by_name = {f.attname: number for number, f in enumerate(fields)}
        self.positions = {name: by_name[name] for name in varying}
        self.template = [
            None
            if f.attname in varying
            else f.get_db_prep_save(f.pre_save(prototype, add=True), self.connection)
            for f in fields
        ]
        self.convert: dict[int, Callable[[Any], Any]] = {}
        for position in self.positions.values():
            field = fields[position]
            if isinstance(field, models.DateTimeField):
                self.convert[position] = self.connection.ops.adapt_datetimefield_value
            elif not isinstance(
                field, (models.IntegerField, models.CharField, models.TextField, models.ForeignKey)
            ):
                self.convert[position] = partial(field.get_db_prep_save, connection=self.connection)
        self.rows: list[list[Any]] = []

    def add(self, **values: object) -> None:
        row = list(self.template)
        for name, value in values.items():
            position = self.positions[name]
            convert = self.convert.get(position)
            row[position] = convert(value) if convert and value is not None else value
        self.rows.append(row)

    def insert(self) -> None:
        """One multi-row ``INSERT`` per batch (as many rows as the database takes parameters
        for: 999 on SQLite, 65,535 on PostgreSQL), so round trips stay few."""
        if not self.rows:
            return
        quote = self.connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in self.fields)
        one = "(" + ", ".join(["%s"] * len(self.fields)) + ")"
        size = self.connection.ops.bulk_batch_size(self.fields, self.rows)
        size = max(1, min(size, 60_000 // len(self.fields)))
        # Names come from the model's metadata, quoted; every value is a parameter.
        table = quote(self.model._meta.db_table)
        with self.connection.cursor() as cursor:
            if self.connection.vendor == "postgresql":
                # COPY: PostgreSQL's own bulk load, several times faster than INSERT here.
                copy_sql = f"COPY {table} ({columns}) FROM STDIN"
                with cursor.cursor.copy(copy_sql) as copy:
                    for row in self.rows:
                        copy.write_row(row)
                self.rows = []
                return
            for start in range(0, len(self.rows), size):
                batch = self.rows[start : start + size]
                values = ", ".join([one] * len(batch))
                sql = f"INSERT INTO {table} ({columns}) VALUES {values}"  # noqa: S608
                cursor.execute(sql, [value for row in batch for value in row])
        self.rows = []
