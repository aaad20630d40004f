"""Settings each new database connection gets (``connection_created``).

PostgreSQL's planner prices reading a random page at four sequential ones by default, a
figure for spinning disks. With it, the calendar's month (1,400 deliveries of 50,000) joined
its posts by reading the whole posts table into a hash (56 ms) instead of looking each up by
its key (12 ms): ``settings.PG_RANDOM_PAGE_COST`` (1.1 by default, the usual value for SSDs
and for a database that fits in memory) is set on each connection, once, when it opens. An
empty ``SOCIALDESK_PG_RANDOM_PAGE_COST`` keeps the server's own value.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models.lookups import In


def tune_connection(sender: Any, connection: Any, **kwargs: Any) -> None:
    cost = getattr(settings, "PG_RANDOM_PAGE_COST", "")
    if connection.vendor != "postgresql" or not cost:
        return
    with connection.cursor() as cursor:
        # A float validated by settings; SET takes no bound parameters.
        cursor.execute(f"SET random_page_cost = {float(cost)}")


class OneOf(In):
    """``IN (…)`` that PostgreSQL receives as ``= ANY(%s)``, the list as one array parameter:
    ``Delivery.objects.filter(OneOf(F("id"), ids))``.

    The month grid asks for its 170 rows by id; as ``IN (…)`` each id was quoted into the
    statement and parsed and planned as a constant, about 1.3 ms of the feed on PostgreSQL
    (issue 12, the calendar). Other databases, and a subquery on the right, get ``IN``."""

    lookup_name = "one_of"

    def as_postgresql(self, compiler: Any, connection: Any) -> Any:
        if not self.rhs_is_direct_value():
            return self.as_sql(compiler, connection)
        lhs, lhs_params = self.process_lhs(compiler, connection)
        _placeholders, values = self.process_rhs(compiler, connection)  # refuses an empty list
        return f"{lhs} = ANY(%s)", [*lhs_params, list(values)]
