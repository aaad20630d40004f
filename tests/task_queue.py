"""What the task queue holds, whichever backend the suite runs with.

The publishing tests run with the database queue (django-tasks-db, the default) and, in CI's
third run, with the Redis queue (``SOCIALDESK_TASKS_BACKEND=redis``, django-tasks-rq). They
look at the queue only through these helpers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

REDIS = settings.TASKS_BACKEND_NAME == "redis"


@dataclass
class QueuedTask:
    task: str  # the task function's name, e.g. "publish_delivery"
    args: list
    run_after: datetime | None  # None: runs as soon as a worker is free
    ready: bool  # a worker may take it now
    status: str  # django_tasks' status name: READY, RUNNING, SUCCESSFUL, FAILED


def flush() -> None:
    """Empty the queue (the tests' Redis database; the database queue's table)."""
    if REDIS:
        import django_rq

        django_rq.get_connection().flushdb()
    else:
        from django_tasks_db.models import DBTaskResult

        DBTaskResult.objects.all().delete()


def queued(delivery_id: int, task: str = "publish_delivery") -> list[QueuedTask]:
    """Every task (of any status) queued for ``delivery_id``."""
    found = _redis_tasks() if REDIS else _db_tasks()
    return [t for t in found if t.task == task and t.args == [delivery_id]]


def expected_run_after(moment: datetime) -> datetime:
    """How the backend keeps a ``run_after``: rq keeps whole seconds (rounded down)."""
    return moment.replace(microsecond=0) if REDIS else moment


def _db_tasks() -> list[QueuedTask]:
    from django_tasks_db.models import DBTaskResult

    ready = set(DBTaskResult.objects.ready().values_list("pk", flat=True))
    return [
        QueuedTask(
            task=row.task_path.rsplit(".", 1)[-1],
            args=row.args_kwargs["args"],
            run_after=row.run_after,
            ready=row.pk in ready,
            status=row.status,
        )
        for row in DBTaskResult.objects.all()
    ]


def _redis_tasks() -> list[QueuedTask]:
    import django_rq
    from django_tasks_rq.backend import Job
    from rq.registry import FinishedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

    connection = django_rq.get_connection()
    found = []
    for name in settings.RQ_QUEUES:
        queue = django_rq.get_queue(name, job_class=Job)
        ids = set(queue.get_job_ids())
        scheduled = ScheduledJobRegistry(queue=queue)
        ids |= set(scheduled.get_job_ids())
        ids |= set(StartedJobRegistry(queue=queue).get_job_ids())
        ids |= set(FinishedJobRegistry(queue=queue).get_job_ids())
        for job_id in sorted(ids):
            job = Job.fetch(job_id, connection=connection)
            result = job.task_result
            found.append(
                QueuedTask(
                    task=job.func_name.rsplit(".", 1)[-1],
                    args=list(job.args),
                    run_after=result.task.run_after,
                    ready=job_id in queue.get_job_ids(),
                    status=result.status.name,
                )
            )
    return found
